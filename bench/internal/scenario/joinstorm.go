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

// JoinStormConfig is the join-storm scenario: Users connected users join one room at once.
type JoinStormConfig struct {
	Users int
	// Timeout bounds the wait for every member to see room_users with count Users.
	Timeout time.Duration
	// Tail is how long presence events are still counted after the room settled.
	Tail time.Duration
	// Concurrency is the number of connections opened in parallel during setup.
	Concurrency int
}

// Name is the scenario's case name, e.g. "join-storm N=500".
func (c JoinStormConfig) Name() string { return fmt.Sprintf("join-storm N=%d", c.Users) }

const stormRoom = "storm"

var (
	userJoinedPrefix = []byte(`["user_joined",`)
	roomUsersPrefix  = []byte(`["room_users",`)
	countKey         = []byte(`"count":`)
)

type joinStorm struct {
	cfg      JoinStormConfig
	presence atomic.Uint64
	settled  []atomic.Bool
	nSettled atomic.Int64
	allDone  chan struct{}
	once     sync.Once
	acks     stats.Histogram
	failed   atomic.Uint64
}

// JoinStorm runs the join-storm scenario.
func JoinStorm(ctx context.Context, t *Target, cfg JoinStormConfig) (*result.Run, error) {
	s := &joinStorm{cfg: cfg, settled: make([]atomic.Bool, cfg.Users), allDone: make(chan struct{})}
	if err := t.prepare(cfg.Users); err != nil {
		return nil, err
	}
	defer t.release()
	clients, err := connectAll(ctx, cfg.Users, cfg.Concurrency, func(ctx context.Context, i int) (*sio.Client, error) {
		ctx, cancel := context.WithTimeout(ctx, t.ConnectTimeout)
		defer cancel()
		return t.dial(ctx, "j"+strconv.Itoa(i), func(args []byte) { s.onEvent(i, args) })
	})
	if err != nil {
		return nil, fmt.Errorf("join-storm setup: %w", err)
	}
	defer closeAll(clients)

	meter := t.measureCPU()
	start := time.Now()
	for _, c := range clients {
		if err := c.EmitAck(joinFrame(stormRoom), s.onAck(start)); err != nil {
			return nil, fmt.Errorf("join-storm join: %w", err)
		}
	}
	settle, err := s.wait(ctx, start)
	if err != nil {
		return nil, err
	}
	_ = sleep(ctx, cfg.Tail)
	cpu, err := meter.Stop()
	if err != nil {
		return nil, fmt.Errorf("join-storm: %w", err)
	}
	return s.report(t, settle, cpu), nil
}

// onAck records a join ack's delay from the start of the storm.
func (s *joinStorm) onAck(start time.Time) sio.AckHandler {
	return func(args []byte) {
		if !acked(args) {
			s.failed.Add(1)
		}
		s.acks.Record(time.Since(start))
	}
}

// onEvent counts presence events and marks member i settled at room_users count == Users.
func (s *joinStorm) onEvent(i int, args []byte) {
	isList := bytes.HasPrefix(args, roomUsersPrefix)
	if !isList && !bytes.HasPrefix(args, userJoinedPrefix) {
		return
	}
	s.presence.Add(1)
	if !isList || roomUsersCount(args) != s.cfg.Users || s.settled[i].Swap(true) {
		return
	}
	if s.nSettled.Add(1) == int64(s.cfg.Users) {
		s.once.Do(func() { close(s.allDone) })
	}
}

// roomUsersCount reads the count of a room_users event; -1 when absent.
func roomUsersCount(args []byte) int {
	i := bytes.LastIndex(args, countKey)
	if i < 0 {
		return -1
	}
	rest := args[i+len(countKey):]
	end := bytes.IndexAny(rest, ",}")
	if end < 0 {
		return -1
	}
	n, err := strconv.Atoi(string(bytes.TrimSpace(rest[:end])))
	if err != nil {
		return -1
	}
	return n
}

// wait returns the time from start until every member settled.
func (s *joinStorm) wait(ctx context.Context, start time.Time) (time.Duration, error) {
	timer := time.NewTimer(s.cfg.Timeout)
	defer timer.Stop()
	select {
	case <-s.allDone:
		return time.Since(start), nil
	case <-timer.C:
		return 0, fmt.Errorf("join-storm: %d of %d members saw count %d within %v", s.nSettled.Load(), s.cfg.Users, s.cfg.Users, s.cfg.Timeout)
	case <-ctx.Done():
		return 0, fmt.Errorf("join-storm: %w", ctx.Err())
	}
}

func (s *joinStorm) report(t *Target, settle time.Duration, cpu stats.CPUUsage) *result.Run {
	run := &result.Run{Scenario: "join-storm", Case: s.cfg.Name(), Params: map[string]any{
		"users": s.cfg.Users, "tail_s": s.cfg.Tail.Seconds(), "transport": t.Transport,
	}}
	n := float64(s.cfg.Users)
	events := float64(s.presence.Load())
	run.Add("settle_ms", ms(settle), "ms", result.Lower)
	run.Add("join_ack_p99_ms", ms(s.acks.Quantile(0.99)), "ms", result.Lower)
	run.Add("presence_events", events, "events", result.Info)
	run.Add("presence_events_per_user", events/n, "events", result.Info)
	run.Add("failed_joins", float64(s.failed.Load()), "joins", result.Lower)
	addCPU(run, cpu, t, n, "join")
	return run
}
