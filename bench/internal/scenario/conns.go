package scenario

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/iohub/iohub/bench/internal/result"
	"github.com/iohub/iohub/bench/internal/sio"
	"github.com/iohub/iohub/bench/internal/stats"
)

// ConnsConfig is the conns scenario: Conns users connect, authenticate and join a room of
// RoomSize members (with ack), Concurrency at a time; then they idle for Settle and close.
type ConnsConfig struct {
	Conns, RoomSize, Concurrency int
	// Settle is the pause before each memory reading (after joining, after closing).
	Settle time.Duration
}

// Name is the scenario's case name, e.g. "conns 10000".
func (c ConnsConfig) Name() string { return fmt.Sprintf("conns %d", c.Conns) }

// rssReading is the server's memory at the three points of the run, in bytes.
type rssReading struct {
	base, joined, closed int64
}

// Conns runs the conns scenario.
func Conns(ctx context.Context, t *Target, cfg ConnsConfig) (*result.Run, error) {
	if err := t.prepare(cfg.Conns); err != nil {
		return nil, err
	}
	defer t.release()
	var rss rssReading
	var err error
	if rss.base, err = t.rss(); err != nil {
		return nil, err
	}
	var setup stats.Histogram
	meter := t.measureCPU()
	start := time.Now()
	clients, err := connectAll(ctx, cfg.Conns, cfg.Concurrency, func(ctx context.Context, i int) (*sio.Client, error) {
		began := time.Now()
		c, err := t.dialJoined(ctx, "c"+strconv.Itoa(i), "conns-"+strconv.Itoa(i/max(cfg.RoomSize, 1)), nil)
		setup.Record(time.Since(began))
		return c, err
	})
	elapsed := time.Since(start)
	if err != nil {
		return nil, fmt.Errorf("conns: %w", err)
	}
	cpu, err := meter.Stop()
	if err != nil {
		closeAll(clients)
		return nil, fmt.Errorf("conns: %w", err)
	}
	rss.joined, err = t.rssAfter(ctx, cfg.Settle)
	closeAll(clients)
	if err != nil {
		return nil, err
	}
	if rss.closed, err = t.rssAfter(ctx, cfg.Settle); err != nil {
		return nil, err
	}
	run := &result.Run{Scenario: "conns", Case: cfg.Name(), Params: map[string]any{
		"conns": cfg.Conns, "room_size": cfg.RoomSize, "concurrency": cfg.Concurrency, "transport": t.Transport,
	}}
	run.Add("conn_join_per_s", float64(cfg.Conns)/elapsed.Seconds(), "1/s", result.Higher)
	run.Add("conn_join_p99_ms", ms(setup.Quantile(0.99)), "ms", result.Lower)
	addCPU(run, cpu, t, float64(cfg.Conns), "conn")
	if t.ServerPID > 0 {
		run.Add("kib_per_conn", float64(rss.joined-rss.base)/1024/float64(cfg.Conns), "KiB", result.Lower)
		run.Add("rss_base_mib", mib(rss.base), "MiB", result.Info)
		run.Add("rss_joined_mib", mib(rss.joined), "MiB", result.Lower)
		run.Add("rss_closed_mib", mib(rss.closed), "MiB", result.Lower)
	}
	return run, nil
}

// rss reads the server's resident memory; 0 without a server pid.
func (t *Target) rss() (int64, error) {
	if t.ServerPID == 0 {
		return 0, nil
	}
	return stats.RSS(t.ServerPID)
}

// rssAfter waits d, then reads the server's resident memory.
func (t *Target) rssAfter(ctx context.Context, d time.Duration) (int64, error) {
	if err := sleep(ctx, d); err != nil {
		return 0, fmt.Errorf("conns: %w", err)
	}
	return t.rss()
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
