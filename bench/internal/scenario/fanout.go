package scenario

import (
	"bytes"
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

// FanoutConfig is the fanout scenario: Rooms rooms of Members members each; the first member
// of each room sends send_message, every member (the sender included) receives new_message.
// The other members of a room are sockets of one receiving user, so that setting up a room
// of M members costs O(M) presence events instead of O(M²) (join-storm measures presence).
type FanoutConfig struct {
	Rooms, Members int
	// Rate, when > 0, sends at this many messages per second in total (open loop, rooms in
	// turn). When 0 the senders run closed loop with InFlight messages in flight in total: a
	// message leaves flight when every member has received it (or its ack failed); InFlight 0
	// means about 2000 deliveries in flight (2000/Members messages).
	Rate     float64
	InFlight int
	// Warmup runs before the measured Duration. Drain ends the wait for the last deliveries
	// when none has arrived for that long.
	Warmup, Duration, Drain time.Duration
	// MaxMessages bounds the messages sent, warmup included.
	MaxMessages int
	// Concurrency is the number of connections opened in parallel during setup.
	Concurrency int
}

// Name is the scenario's case name, e.g. "fanout 1x1000 closed", or "fanout 1x1000 closed,
// 8 in flight" when a closed loop has other than the default number in flight.
func (c FanoutConfig) Name(transport string) string {
	mode := "closed"
	switch {
	case c.Rate > 0:
		mode = "@" + strconv.FormatFloat(c.Rate, 'f', -1, 64) + "/s"
	case c.InFlight > 0 && c.InFlight != defaultInFlight(c.Members):
		mode += ", " + strconv.Itoa(c.InFlight) + " in flight"
	}
	name := fmt.Sprintf("fanout %dx%d %s", c.Rooms, c.Members, mode)
	if transport == sio.Polling {
		name += " polling"
	}
	return name
}

// defaultInFlight is how many messages a closed loop keeps in flight when not told: about
// 2000 deliveries.
func defaultInFlight(members int) int { return max(1, (2000+members-1)/members) }

var newMessagePrefix = []byte(`["new_message",`)

// fanout is one run's shared state. Content of each message is "<slot>:<send unix ns>".
type fanout struct {
	cfg FanoutConfig

	start      atomic.Int64 // unix ns: measurement starts, messages sent before are warmup
	end        atomic.Int64 // unix ns: measurement ends (max int64 until then)
	slots      []atomic.Int32
	free       chan int32
	reserved   atomic.Int64
	latency    stats.Histogram
	counts     fanoutCounts
	setupEvent atomic.Uint64
}

type fanoutCounts struct {
	sent, failed               atomic.Uint64 // all messages
	measuredSent, measuredFail atomic.Uint64 // messages sent after warmup
	received                   atomic.Uint64 // all deliveries
	tracked                    atomic.Uint64 // deliveries of messages sent after warmup
	inWindow                   atomic.Uint64 // deliveries received during the measurement
}

// Fanout runs the fanout scenario.
func Fanout(ctx context.Context, t *Target, cfg FanoutConfig) (*result.Run, error) {
	if cfg.InFlight <= 0 {
		cfg.InFlight = defaultInFlight(cfg.Members)
	}
	f := &fanout{cfg: cfg, free: make(chan int32, cfg.InFlight), slots: make([]atomic.Int32, cfg.InFlight)}
	f.end.Store(1<<63 - 1)
	for i := range f.slots {
		f.free <- int32(i)
	}
	if err := t.prepare(cfg.Rooms * cfg.Members); err != nil {
		return nil, err
	}
	defer t.release()
	setupStart := time.Now()
	clients, err := connectAll(ctx, cfg.Rooms*cfg.Members, cfg.Concurrency, func(ctx context.Context, i int) (*sio.Client, error) {
		return t.dialJoined(ctx, fanoutUser(i/cfg.Members, i%cfg.Members), roomName(i/cfg.Members), f.onEvent)
	})
	if err != nil {
		return nil, fmt.Errorf("fanout setup: %w", err)
	}
	defer closeAll(clients)
	// Let the presence traffic of the joins die down (room_users trails by up to 1 s).
	waitQuiet(ctx, &f.setupEvent, 1200*time.Millisecond, 60*time.Second)
	setup := time.Since(setupStart)

	cpu, err := f.load(ctx, t, clients)
	if err != nil {
		return nil, err
	}
	run := f.report(t, cpu)
	run.Add("setup_s", setup.Seconds(), "s", result.Info)
	return run, nil
}

func roomName(r int) string { return "fan-" + strconv.Itoa(r) }

// fanoutUser is the user of member m of room r: the sender (m = 0) or the room's receiver.
func fanoutUser(r, m int) string {
	if m == 0 {
		return "f" + strconv.Itoa(r) + "-tx"
	}
	return "f" + strconv.Itoa(r) + "-rx"
}

// load sends for warmup+duration, drains, and returns the CPU used in the measured window.
func (f *fanout) load(ctx context.Context, t *Target, clients []*sio.Client) (stats.CPUUsage, error) {
	now := time.Now()
	f.start.Store(now.Add(f.cfg.Warmup).UnixNano())
	sendCtx, cancel := context.WithDeadline(ctx, now.Add(f.cfg.Warmup+f.cfg.Duration))
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, f.cfg.Rooms+1)
	if f.cfg.Rate > 0 {
		wg.Go(func() { errs <- f.fixedRate(sendCtx, clients) })
	} else {
		for r := range f.cfg.Rooms {
			wg.Go(func() { errs <- f.closedLoop(sendCtx, clients[r*f.cfg.Members], roomName(r)) })
		}
	}
	_ = sleep(sendCtx, f.cfg.Warmup) // cut short only when the send period is over
	meter := t.measureCPU()
	<-sendCtx.Done()
	f.end.Store(time.Now().UnixNano())
	cpu, cpuErr := meter.Stop()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return cpu, fmt.Errorf("fanout send: %w", err)
		}
	}
	f.drain(ctx)
	if ctx.Err() != nil {
		return cpu, fmt.Errorf("fanout: %w", ctx.Err())
	}
	return cpu, cpuErr
}

// reserve counts one more message, false once MaxMessages are out.
func (f *fanout) reserve() bool { return f.reserved.Add(1) <= int64(f.cfg.MaxMessages) }

// closedLoop sends to one room whenever a flight slot is free.
func (f *fanout) closedLoop(ctx context.Context, sender *sio.Client, room string) error {
	for {
		var slot int32
		select {
		case slot = <-f.free:
		case <-ctx.Done():
			return nil
		}
		if !f.reserve() {
			f.free <- slot
			return nil
		}
		f.slots[slot].Store(int32(f.cfg.Members))
		if err := f.send(sender, room, slot); err != nil {
			return err
		}
	}
}

// fixedRate sends cfg.Rate messages per second in total, to the rooms in turn.
func (f *fanout) fixedRate(ctx context.Context, clients []*sio.Client) error {
	interval := time.Duration(float64(time.Second) / f.cfg.Rate)
	next := time.Now()
	for k := 0; ; k++ {
		if sleep(ctx, time.Until(next)) != nil || !f.reserve() {
			return nil
		}
		r := k % f.cfg.Rooms
		if err := f.send(clients[r*f.cfg.Members], roomName(r), -1); err != nil {
			return err
		}
		next = next.Add(interval)
	}
}

// send emits one send_message carrying slot and the send time, and counts its ack.
func (f *fanout) send(sender *sio.Client, room string, slot int32) error {
	ts := time.Now().UnixNano()
	measured := ts >= f.start.Load()
	f.counts.sent.Add(1)
	if measured {
		f.counts.measuredSent.Add(1)
	}
	frame := make([]byte, 0, 96)
	frame = append(frame, `["send_message",{"roomId":"`...)
	frame = append(frame, room...)
	frame = append(frame, `","content":"`...)
	frame = strconv.AppendInt(frame, int64(slot), 10)
	frame = append(frame, ':')
	frame = strconv.AppendInt(frame, ts, 10)
	frame = append(frame, `"}]`...)
	return sender.EmitAck(frame, func(args []byte) {
		if acked(args) {
			return
		}
		f.counts.failed.Add(1)
		if measured {
			f.counts.measuredFail.Add(1)
		}
		if slot >= 0 {
			f.free <- slot
		}
	})
}

// onEvent is every member's event handler.
func (f *fanout) onEvent(args []byte) {
	if !bytes.HasPrefix(args, newMessagePrefix) {
		f.setupEvent.Add(1)
		return
	}
	slot, ts, ok := parseContent(args)
	if !ok {
		return
	}
	now, start := time.Now().UnixNano(), f.start.Load()
	f.counts.received.Add(1)
	if now >= start && now <= f.end.Load() {
		f.counts.inWindow.Add(1)
	}
	if ts >= start {
		f.counts.tracked.Add(1)
		f.latency.Record(time.Duration(now - ts))
	}
	if slot >= 0 && slot < len(f.slots) && f.slots[slot].Add(-1) == 0 {
		f.free <- int32(slot)
	}
}

var contentKey = []byte(`"content":"`)

// parseContent reads "<slot>:<ns>" from a new_message's content.
func parseContent(args []byte) (slot int, ts int64, ok bool) {
	i := bytes.Index(args, contentKey)
	if i < 0 {
		return 0, 0, false
	}
	rest := args[i+len(contentKey):]
	colon := bytes.IndexByte(rest, ':')
	quote := bytes.IndexByte(rest, '"')
	if colon < 0 || quote < colon {
		return 0, 0, false
	}
	s, err1 := strconv.Atoi(string(rest[:colon]))
	n, err2 := strconv.ParseInt(string(rest[colon+1:quote]), 10, 64)
	return s, n, err1 == nil && err2 == nil
}

// drainCap bounds the whole drain, however slowly deliveries keep arriving.
const drainCap = 30 * time.Second

// drain waits until every expected delivery has arrived, or none has arrived for cfg.Drain
// (what is still missing then counts as lost), or drainCap has passed.
func (f *fanout) drain(ctx context.Context) {
	deadline := time.Now().Add(drainCap)
	last, lastMove := f.counts.received.Load(), time.Now()
	for f.missing() > 0 && time.Since(lastMove) < f.cfg.Drain && time.Now().Before(deadline) {
		if sleep(ctx, 10*time.Millisecond) != nil {
			return
		}
		if n := f.counts.received.Load(); n != last {
			last, lastMove = n, time.Now()
		}
	}
}

// missing is the number of deliveries expected but not received yet, over the whole run.
func (f *fanout) missing() int64 {
	ok := int64(f.counts.sent.Load()) - int64(f.counts.failed.Load())
	return ok*int64(f.cfg.Members) - int64(f.counts.received.Load())
}

func (f *fanout) report(t *Target, cpu stats.CPUUsage) *result.Run {
	c := &f.counts
	run := &result.Run{Scenario: "fanout", Case: f.cfg.Name(t.Transport), Params: map[string]any{
		"rooms": f.cfg.Rooms, "members": f.cfg.Members, "rate": f.cfg.Rate, "inflight": f.cfg.InFlight,
		"duration_s": f.cfg.Duration.Seconds(), "warmup_s": f.cfg.Warmup.Seconds(), "transport": t.Transport,
	}}
	secs := f.cfg.Duration.Seconds()
	inWindow := float64(c.inWindow.Load())
	expected := float64(c.measuredSent.Load()-c.measuredFail.Load()) * float64(f.cfg.Members)
	run.Add("deliveries_per_s", inWindow/secs, "1/s", result.Higher)
	run.Add("messages_per_s", float64(c.measuredSent.Load())/secs, "1/s", result.Info)
	run.Add("latency_p50_ms", ms(f.latency.Quantile(0.50)), "ms", result.Lower)
	run.Add("latency_p99_ms", ms(f.latency.Quantile(0.99)), "ms", result.Lower)
	run.Add("latency_max_ms", ms(f.latency.Max()), "ms", result.Lower)
	run.Add("lost", expected-float64(c.tracked.Load()), "deliveries", result.Lower)
	run.Add("failed_sends", float64(c.measuredFail.Load()), "messages", result.Lower)
	addCPU(run, cpu, t, inWindow, "delivery")
	return run
}

// addCPU adds the server's and the load tool's CPU share and CPU time per unit of work.
func addCPU(run *result.Run, cpu stats.CPUUsage, t *Target, units float64, unit string) {
	if t.ServerPID > 0 && units > 0 {
		run.Add("server_cpu_us_per_"+unit, float64(cpu.Server.Microseconds())/units, "µs", result.Lower)
		run.Add("server_cpu_pct", 100*cpu.Server.Seconds()/cpu.Wall.Seconds(), "%", result.Info)
	}
	run.Add("load_cpu_pct", 100*cpu.Self.Seconds()/cpu.Wall.Seconds(), "%", result.Info)
	if units > 0 {
		run.Add("load_cpu_us_per_"+unit, float64(cpu.Self.Microseconds())/units, "µs", result.Info)
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
