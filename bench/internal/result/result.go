// Package result is the output format of one load run: a human table and one JSON line.
package result

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"text/tabwriter"
	"time"
)

// Which way a metric is better.
const (
	Higher = "higher"
	Lower  = "lower"
	Info   = "" // informational, no direction
)

// Metric is one measured figure.
type Metric struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Better string  `json:"better,omitempty"`
}

// Run is the outcome of one scenario run against one server.
type Run struct {
	// Scenario is the scenario name: conns, fanout, acks or join-storm.
	Scenario string `json:"scenario"`
	// Case names the scenario with its defining parameters, e.g. "fanout 1x1000 closed";
	// runs of the same case are compared across labels.
	Case string `json:"case"`
	// Label names the server under test, e.g. "iohub-bolt" or "node".
	Label   string         `json:"label,omitempty"`
	Time    time.Time      `json:"time"`
	Params  map[string]any `json:"params"`
	Metrics []Metric       `json:"metrics"`
}

// Add appends a metric.
func (r *Run) Add(name string, value float64, unit, better string) {
	r.Metrics = append(r.Metrics, Metric{Name: name, Value: value, Unit: unit, Better: better})
}

// WriteTable prints the run for people.
func (r *Run) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "== %s [%s] %v\n", r.Case, r.Label, r.Params)
	for _, m := range r.Metrics {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", m.Name, FormatValue(m.Value), m.Unit)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	return nil
}

// WriteJSON prints the run as one JSON line.
func (r *Run) WriteJSON(w io.Writer) error {
	line, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode run: %w", err)
	}
	if _, err := fmt.Fprintf(w, "%s\n", line); err != nil {
		return fmt.Errorf("write run: %w", err)
	}
	return nil
}

// FormatValue prints v with about three significant digits (integers as they are).
func FormatValue(v float64) string {
	abs := math.Abs(v)
	switch {
	case v == math.Trunc(v) && abs < 1e15:
		return strconv.FormatInt(int64(v), 10)
	case abs >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case abs >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}
