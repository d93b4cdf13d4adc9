package scenario

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
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
	// Tail ends the wait, after the room settled, for the last user_joined events once none
	// has arrived for that long.
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
	cfg        JoinStormConfig
	presence   atomic.Uint64
	userJoined atomic.Uint64
	lastCount  []atomic.Int32 // the count of the last room_users each member saw
	acked      []atomic.Bool  // whether each member's join was acked with success
	settled    []atomic.Bool
	nSettled   atomic.Int64
	allDone    chan struct{}
	once       sync.Once
	acks       stats.Histogram
	failed     atomic.Uint64
}

// JoinStorm runs the join-storm scenario.
func JoinStorm(ctx context.Context, t *Target, cfg JoinStormConfig) (*result.Run, error) {
	s := &joinStorm{cfg: cfg, settled: make([]atomic.Bool, cfg.Users), lastCount: make([]atomic.Int32, cfg.Users), acked: make([]atomic.Bool, cfg.Users), allDone: make(chan struct{})}
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
	for i, c := range clients {
		if err := c.EmitAck(joinFrame(stormRoom), s.onAck(i, start)); err != nil {
			return nil, fmt.Errorf("join-storm join: %w", err)
		}
	}
	settle, err := s.wait(ctx, start)
	if err != nil {
		return nil, err
	}
	s.waitUserJoined(ctx)
	cpu, err := meter.Stop()
	if err != nil {
		return nil, fmt.Errorf("join-storm: %w", err)
	}
	return s.report(t, settle, cpu), nil
}

// onAck records member i's join ack and its delay from the start of the storm.
func (s *joinStorm) onAck(i int, start time.Time) sio.AckHandler {
	return func(args []byte) {
		if !acked(args) {
			s.failed.Add(1)
		} else {
			s.acked[i].Store(true)
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
	if !isList {
		s.userJoined.Add(1)
		return
	}
	count := roomUsersCount(args)
	s.lastCount[i].Store(int32(count))
	if count != s.cfg.Users || s.settled[i].Swap(true) {
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
		return 0, fmt.Errorf("%d of %d members saw count %d within %v (user_joined received: %d of %d); the others: %s",
			s.nSettled.Load(), s.cfg.Users, s.cfg.Users, s.cfg.Timeout, s.userJoined.Load(), s.expectedUserJoined(), s.lastCounts())
	case <-ctx.Done():
		return 0, fmt.Errorf("join-storm: %w", ctx.Err())
	}
}

// lastCounts summarizes the unsettled members by the last room_users count they saw and
// whether their join was acked, e.g. "count 499, join acked ×152".
func (s *joinStorm) lastCounts() string {
	type key struct {
		count int32
		acked bool
	}
	byKey := map[key]int{}
	for i := range s.lastCount {
		if !s.settled[i].Load() {
			byKey[key{s.lastCount[i].Load(), s.acked[i].Load()}]++
		}
	}
	parts := make([]string, 0, len(byKey))
	for k, n := range byKey {
		parts = append(parts, fmt.Sprintf("count %d, join acked %v ×%d", k.count, k.acked, n))
	}
	slices.Sort(parts)
	return strings.Join(parts, "; ")
}

// expectedUserJoined is N(N−1)/2: the k-th joiner is announced to the k−1 members before it.
func (s *joinStorm) expectedUserJoined() uint64 {
	n := uint64(s.cfg.Users)
	return n * (n - 1) / 2
}

// waitUserJoined waits for the last user_joined events until none has come for Tail.
func (s *joinStorm) waitUserJoined(ctx context.Context) {
	last, lastMove := s.userJoined.Load(), time.Now()
	for s.userJoined.Load() < s.expectedUserJoined() && time.Since(lastMove) < s.cfg.Tail {
		if sleep(ctx, 10*time.Millisecond) != nil {
			return
		}
		if n := s.userJoined.Load(); n != last {
			last, lastMove = n, time.Now()
		}
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
	run.Add("user_joined_missing", float64(s.expectedUserJoined())-float64(s.userJoined.Load()), "events", result.Lower)
	run.Add("presence_events_per_user", events/n, "events", result.Info)
	run.Add("failed_joins", float64(s.failed.Load()), "joins", result.Lower)
	addCPU(run, cpu, t, n, "join")
	return run
}
