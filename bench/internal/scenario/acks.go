package scenario

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iohub/iohub/bench/internal/result"
	"github.com/iohub/iohub/bench/internal/sio"
	"github.com/iohub/iohub/bench/internal/stats"
)

// AcksConfig is the acks scenario: Senders users, each alone in its own room, each sending
// send_message with an ack, one in flight at a time.
type AcksConfig struct {
	Senders int
	// Warmup runs before the measured Duration.
	Warmup, Duration time.Duration
	// AckTimeout bounds the wait for one ack.
	AckTimeout time.Duration
	// MaxMessages bounds the messages sent, warmup included.
	MaxMessages int
	// Concurrency is the number of connections opened in parallel during setup.
	Concurrency int
}

// Name is the scenario's case name, e.g. "acks K=50".
func (c AcksConfig) Name() string { return fmt.Sprintf("acks K=%d", c.Senders) }

type acks struct {
	cfg        AcksConfig
	start, end time.Time
	reserved   atomic.Int64
	measured   atomic.Uint64
	failed     atomic.Uint64
	rtt        stats.Histogram
}

// Acks runs the acks scenario.
func Acks(ctx context.Context, t *Target, cfg AcksConfig) (*result.Run, error) {
	a := &acks{cfg: cfg}
	if err := t.prepare(cfg.Senders); err != nil {
		return nil, err
	}
	defer t.release()
	clients, err := connectAll(ctx, cfg.Senders, cfg.Concurrency, func(ctx context.Context, i int) (*sio.Client, error) {
		return t.dialJoined(ctx, "a"+strconv.Itoa(i), "ack-"+strconv.Itoa(i), nil)
	})
	if err != nil {
		return nil, fmt.Errorf("acks setup: %w", err)
	}
	defer closeAll(clients)

	now := time.Now()
	a.start, a.end = now.Add(cfg.Warmup), now.Add(cfg.Warmup+cfg.Duration)
	sendCtx, cancel := context.WithDeadline(ctx, a.end)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, len(clients))
	for i, c := range clients {
		wg.Go(func() { errs <- a.sender(sendCtx, c, "ack-"+strconv.Itoa(i)) })
	}
	_ = sleep(sendCtx, cfg.Warmup) // cut short only when the send period is over
	meter := t.measureCPU()
	<-sendCtx.Done()
	cpu, cpuErr := meter.Stop()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return nil, fmt.Errorf("acks: %w", err)
		}
	}
	if cpuErr != nil {
		return nil, fmt.Errorf("acks: %w", cpuErr)
	}
	return a.report(t, cpu), nil
}

// sender sends one message at a time until ctx ends or MaxMessages are out.
func (a *acks) sender(ctx context.Context, c *sio.Client, room string) error {
	prefix := []byte(`["send_message",{"roomId":"` + room + `","content":"ack `)
	for n := 0; ctx.Err() == nil && a.reserved.Add(1) <= int64(a.cfg.MaxMessages); n++ {
		frame := strconv.AppendInt(append([]byte(nil), prefix...), int64(n), 10)
		frame = append(frame, `"}]`...)
		sent := time.Now()
		reply, err := a.call(ctx, c, frame)
		if err != nil {
			return err
		}
		done := time.Now()
		if sent.Before(a.start) || done.After(a.end) {
			continue
		}
		if !acked(reply) {
			a.failed.Add(1)
			continue
		}
		a.measured.Add(1)
		a.rtt.Record(done.Sub(sent))
	}
	return nil
}

// call waits for one ack up to AckTimeout; the end of the send period is not an error.
func (a *acks) call(ctx context.Context, c *sio.Client, frame []byte) ([]byte, error) {
	callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.AckTimeout)
	defer cancel()
	reply, err := c.Call(callCtx, frame)
	if err != nil {
		return nil, fmt.Errorf("send_message: %w", err)
	}
	return reply, nil
}

func (a *acks) report(t *Target, cpu stats.CPUUsage) *result.Run {
	run := &result.Run{Scenario: "acks", Case: a.cfg.Name(), Params: map[string]any{
		"senders": a.cfg.Senders, "duration_s": a.cfg.Duration.Seconds(), "warmup_s": a.cfg.Warmup.Seconds(), "transport": t.Transport,
	}}
	n := float64(a.measured.Load())
	run.Add("acks_per_s", n/a.cfg.Duration.Seconds(), "1/s", result.Higher)
	run.Add("rtt_p50_ms", ms(a.rtt.Quantile(0.50)), "ms", result.Lower)
	run.Add("rtt_p99_ms", ms(a.rtt.Quantile(0.99)), "ms", result.Lower)
	run.Add("failed", float64(a.failed.Load()), "messages", result.Lower)
	addCPU(run, cpu, t, n, "ack")
	return run
}
