// Command iohub-load drives a Socket.IO chat server that speaks the iohub protocol (iohub
// itself or the Node.js peer in bench/node-peer) with bounded load scenarios, and summarizes
// the runs.
//
//	iohub-load conns|fanout|acks|join-storm --url http://127.0.0.1:3000 --secret S [flags]
//	iohub-load report [--baseline node] results.jsonl...
//
// Each scenario prints a table and one JSON line (scenario, case, label, params, metrics).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/iohub/iohub/bench/internal/report"
	"github.com/iohub/iohub/bench/internal/result"
	"github.com/iohub/iohub/bench/internal/scenario"
	"github.com/iohub/iohub/bench/internal/sio"
)

const usage = `usage:
  iohub-load conns|fanout|acks|join-storm --url URL --secret S [flags]   (-h for a scenario's flags)
  iohub-load report [--baseline LABEL] results.jsonl...`

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "iohub-load:", err)
		os.Exit(1)
	}
}

// scenarioFunc runs one scenario against a target.
type scenarioFunc func(ctx context.Context, t *scenario.Target) (*result.Run, error)

func run(args []string) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	name, args := args[0], args[1:]
	if name == "report" {
		return report.Main(args, os.Stdout)
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	common := commonFlags(fs)
	scen, err := scenarioFlags(name, fs)
	if err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	common.target.Secret = []byte(common.secret)
	if common.target.URL == "" {
		return fmt.Errorf("%s: --url is required", name)
	}
	if common.cpuProfile != "" {
		stopProfile, err := startCPUProfile(common.cpuProfile)
		if err != nil {
			return err
		}
		defer stopProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, common.limit)
	defer cancel()
	r, err := scen(ctx, &common.target)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	r.Label, r.Time = common.label, time.Now().UTC()
	if err := r.WriteTable(os.Stdout); err != nil {
		return err
	}
	return r.WriteJSON(os.Stdout)
}

type common struct {
	target scenario.Target
	secret string
	label  string
	limit  time.Duration
	// cpuProfile is where the load tool's own CPU profile goes ("" for none).
	cpuProfile string
}

func commonFlags(fs *flag.FlagSet) *common {
	c := &common{}
	fs.StringVar(&c.target.URL, "url", "", "server base URL, e.g. http://127.0.0.1:3000")
	fs.StringVar(&c.secret, "secret", "bench-secret", "HS256 secret the tokens are signed with")
	fs.StringVar(&c.target.Transport, "transport", sio.WebSocket, "websocket or polling")
	fs.IntVar(&c.target.ServerPID, "server-pid", 0, "server process to read memory and CPU time from (0: none)")
	fs.DurationVar(&c.target.ConnectTimeout, "connect-timeout", 10*time.Second, "bound on one connection's connect and join")
	fs.BoolVar(&c.target.Epoll, "epoll", true, "read websocket connections with one epoll goroutine (Linux)")
	fs.StringVar(&c.label, "label", "", "name of the server under test, carried into the output")
	fs.DurationVar(&c.limit, "limit", 5*time.Minute, "hard bound on the whole run")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write the load tool's own CPU profile to this file")
	return c
}

// scenarioFlags registers the flags of scenario name and returns its runner.
func scenarioFlags(name string, fs *flag.FlagSet) (scenarioFunc, error) {
	concurrency := fs.Int("concurrency", 64, "connections opened in parallel")
	switch name {
	case "conns":
		cfg := scenario.ConnsConfig{}
		fs.IntVar(&cfg.Conns, "conns", 10000, "connections")
		fs.IntVar(&cfg.RoomSize, "room-size", 10, "members per room")
		fs.DurationVar(&cfg.Settle, "settle", 2*time.Second, "pause before each memory reading")
		return func(ctx context.Context, t *scenario.Target) (*result.Run, error) {
			cfg.Concurrency = *concurrency
			return scenario.Conns(ctx, t, cfg)
		}, nil
	case "fanout":
		cfg := scenario.FanoutConfig{}
		fs.IntVar(&cfg.Rooms, "rooms", 1, "rooms")
		fs.IntVar(&cfg.Members, "members", 1000, "members per room")
		fs.Float64Var(&cfg.Rate, "rate", 0, "messages per second in total (0: closed loop)")
		fs.IntVar(&cfg.InFlight, "inflight", 0, "closed loop: messages in flight in total (0: 2000/members)")
		fs.DurationVar(&cfg.Warmup, "warmup", time.Second, "unmeasured load before the measurement")
		fs.DurationVar(&cfg.Duration, "duration", 5*time.Second, "measured load")
		fs.DurationVar(&cfg.Drain, "drain", 3*time.Second, "after the load, stop waiting for deliveries once none came for this long")
		fs.IntVar(&cfg.MaxMessages, "max-messages", 1000000, "bound on messages sent")
		return func(ctx context.Context, t *scenario.Target) (*result.Run, error) {
			cfg.Concurrency = *concurrency
			return scenario.Fanout(ctx, t, cfg)
		}, nil
	case "acks":
		cfg := scenario.AcksConfig{}
		fs.IntVar(&cfg.Senders, "senders", 50, "concurrent senders, one message in flight each")
		fs.DurationVar(&cfg.Warmup, "warmup", time.Second, "unmeasured load before the measurement")
		fs.DurationVar(&cfg.Duration, "duration", 5*time.Second, "measured load")
		fs.DurationVar(&cfg.AckTimeout, "ack-timeout", 5*time.Second, "bound on the wait for one ack")
		fs.IntVar(&cfg.MaxMessages, "max-messages", 10000000, "bound on messages sent")
		return func(ctx context.Context, t *scenario.Target) (*result.Run, error) {
			cfg.Concurrency = *concurrency
			return scenario.Acks(ctx, t, cfg)
		}, nil
	case "join-storm":
		cfg := scenario.JoinStormConfig{}
		fs.IntVar(&cfg.Users, "users", 500, "users joining the room")
		fs.DurationVar(&cfg.Timeout, "timeout", 30*time.Second, "bound on the wait for every member to see the full count")
		fs.DurationVar(&cfg.Tail, "tail", 1500*time.Millisecond, "after settling, stop waiting for user_joined events once none came for this long")
		return func(ctx context.Context, t *scenario.Target) (*result.Run, error) {
			cfg.Concurrency = *concurrency
			return scenario.JoinStorm(ctx, t, cfg)
		}, nil
	}
	return nil, fmt.Errorf("unknown scenario %q\n%s", name, usage)
}

// startCPUProfile profiles this process into file until the returned function is called.
func startCPUProfile(file string) (func(), error) {
	f, err := os.Create(file)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "iohub-load: cpu profile:", err)
		}
	}, nil
}
