package report

import (
	"strings"
	"testing"

	"github.com/iohub/iohub/bench/internal/result"
)

func run(label string, v float64) result.Run {
	return result.Run{Case: "fanout 1x1000 closed", Label: label, Metrics: []result.Metric{
		{Name: "deliveries_per_s", Value: v, Unit: "1/s", Better: result.Higher},
	}}
}

func TestWriteMediansSpreadAndRatio(t *testing.T) {
	runs := []result.Run{run("node", 100), run("iohub", 150), run("node", 120), run("iohub", 250), run("node", 80), run("iohub", 200)}
	var b strings.Builder
	if err := Write(&b, runs, "node"); err != nil {
		t.Fatal(err)
	}
	want := "| deliveries_per_s | 1/s | higher | 200 (150–250) | 100 (80–120) | 2.00× |"
	if !strings.Contains(b.String(), want) {
		t.Errorf("table lacks %q:\n%s", want, b.String())
	}
}
