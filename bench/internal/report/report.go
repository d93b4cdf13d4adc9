// Package report summarizes load runs (the JSON lines iohub-load prints) as markdown tables:
// per case and metric, the median and spread (min–max) of each server, and the ratio of each
// server to the baseline.
package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/iohub/iohub/bench/internal/result"
)

// Main parses report's arguments (flags, then JSON-lines files) and writes the summary to w.
func Main(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	baseline := fs.String("baseline", "node", "label the ratios are taken against")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	var runs []result.Run
	for _, name := range fs.Args() {
		rs, err := readFile(name)
		if err != nil {
			return err
		}
		runs = append(runs, rs...)
	}
	if len(runs) == 0 {
		return fmt.Errorf("report: no runs in %v", fs.Args())
	}
	return Write(w, runs, *baseline)
}

// readFile reads the runs of a file, skipping lines that are not JSON objects.
func readFile(name string) ([]result.Run, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	defer f.Close()
	var runs []result.Run
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 4<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var r result.Run
		if err := json.Unmarshal(line, &r); err != nil {
			return nil, fmt.Errorf("report: %s: %w", name, err)
		}
		runs = append(runs, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("report: read %s: %w", name, err)
	}
	return runs, nil
}

// table is the runs of one case: values per metric and label, in order of appearance.
type table struct {
	name    string
	metrics []result.Metric // first occurrence of each metric, for unit and direction
	values  map[string]map[string][]float64
}

// Write prints one markdown table per case.
func Write(w io.Writer, runs []result.Run, baseline string) error {
	tables, labels := group(runs, baseline)
	var b strings.Builder
	for _, t := range tables {
		t.write(&b, labels, baseline)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("report: write: %w", err)
	}
	return nil
}

// group sorts runs into tables by case and lists the labels, the baseline last.
func group(runs []result.Run, baseline string) ([]*table, []string) {
	var tables []*table
	byName := map[string]*table{}
	var labels []string
	for _, r := range runs {
		t := byName[r.Case]
		if t == nil {
			t = &table{name: r.Case, values: map[string]map[string][]float64{}}
			byName[r.Case] = t
			tables = append(tables, t)
		}
		if !slices.Contains(labels, r.Label) {
			labels = append(labels, r.Label)
		}
		t.add(r)
	}
	if i := slices.Index(labels, baseline); i >= 0 {
		labels = append(slices.Delete(labels, i, i+1), baseline)
	}
	return tables, labels
}

func (t *table) add(r result.Run) {
	for _, m := range r.Metrics {
		byLabel := t.values[m.Name]
		if byLabel == nil {
			byLabel = map[string][]float64{}
			t.values[m.Name] = byLabel
			t.metrics = append(t.metrics, m)
		}
		byLabel[r.Label] = append(byLabel[r.Label], m.Value)
	}
}

func (t *table) write(b *strings.Builder, labels []string, baseline string) {
	others := slices.DeleteFunc(slices.Clone(labels), func(l string) bool { return l == baseline })
	hasBase := len(others) < len(labels)
	fmt.Fprintf(b, "\n### %s\n\n| metric | unit | better |", t.name)
	for _, l := range labels {
		fmt.Fprintf(b, " %s |", l)
	}
	if hasBase {
		for _, l := range others {
			fmt.Fprintf(b, " %s / %s |", l, baseline)
		}
	}
	b.WriteString("\n|---|---|---|" + strings.Repeat("---|", len(labels)))
	if hasBase {
		b.WriteString(strings.Repeat("---|", len(others)))
	}
	b.WriteString("\n")
	for _, m := range t.metrics {
		t.writeRow(b, m, labels, others, baseline, hasBase)
	}
}

func (t *table) writeRow(b *strings.Builder, m result.Metric, labels, others []string, baseline string, hasBase bool) {
	vals := t.values[m.Name]
	fmt.Fprintf(b, "| %s | %s | %s |", m.Name, m.Unit, m.Better)
	for _, l := range labels {
		b.WriteString(" " + spread(vals[l]) + " |")
	}
	if hasBase {
		base := median(vals[baseline])
		for _, l := range others {
			b.WriteString(" " + ratio(median(vals[l]), base, len(vals[l]) > 0 && len(vals[baseline]) > 0) + " |")
		}
	}
	b.WriteString("\n")
}

// spread prints "median (min–max) n=N", or just the value for one run.
func spread(v []float64) string {
	switch len(v) {
	case 0:
		return "–"
	case 1:
		return result.FormatValue(v[0])
	}
	return fmt.Sprintf("%s (%s–%s)", result.FormatValue(median(v)), result.FormatValue(slices.Min(v)), result.FormatValue(slices.Max(v)))
}

func ratio(v, base float64, ok bool) string {
	if !ok || base == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", v/base)
}

// median of v; 0 for none.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(v))
	if n := len(s); n%2 == 1 {
		return s[n/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
