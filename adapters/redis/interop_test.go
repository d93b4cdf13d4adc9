package redis_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/iohub/iohub/adapters/redis/redistest"
)

// interopDir is test/interop, with its npm packages installed by scripts/install-deps.sh.
// Without node or the packages the interop tests skip, unless IOHUB_REQUIRE_INTEROP is set.
func interopDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../../test/interop")
	if err != nil {
		t.Fatal(err)
	}
	_, nodeErr := exec.LookPath("node")
	_, modErr := os.Stat(filepath.Join(dir, "node_modules", "@socket.io", "redis-adapter"))
	if nodeErr != nil || modErr != nil {
		msg := "node or test/interop/node_modules missing (run scripts/install-deps.sh)"
		if os.Getenv("IOHUB_REQUIRE_INTEROP") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dir
}

// nodeProc is a running node script that prints one JSON object per line.
type nodeProc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan map[string]any
	stderr bytes.Buffer
}

// runNode starts `node script args...` in test/interop and stops it when the test ends.
func runNode(t *testing.T, script string, args ...string) *nodeProc {
	t.Helper()
	p := &nodeProc{lines: make(chan map[string]any, 64)}
	p.cmd = exec.Command("node", append([]string{script}, args...)...)
	p.cmd.Dir = interopDir(t)
	p.cmd.Stderr = &p.stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start node %s: %v", script, err)
	}
	read := make(chan struct{})
	go func() {
		defer close(read)
		defer close(p.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) == nil {
				p.lines <- line
			}
		}
	}()
	t.Cleanup(func() {
		_ = p.stdin.Close()
		exited := make(chan struct{})
		go func() {
			for range p.lines { // unblock the reader
			}
			<-read
			_ = p.cmd.Wait()
			close(exited)
		}()
		select {
		case <-exited:
		case <-time.After(waitFor):
			_ = p.cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("node %s stderr:\n%s", script, p.stderr.String())
		}
	})
	return p
}

// await returns the next line that has key; the test fails when the script ends first.
func (p *nodeProc) await(t *testing.T, key string) any {
	t.Helper()
	timeout := time.After(waitFor)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				t.Fatalf("node exited without %q: %s", key, p.stderr.String())
			}
			if v, ok := line[key]; ok {
				return v
			}
		case <-timeout:
			t.Fatalf("node never printed %q", key)
		}
	}
}

// send writes one JSON command line to the script.
func (p *nodeProc) send(t *testing.T, cmd any) {
	t.Helper()
	b, _ := json.Marshal(cmd)
	if _, err := p.stdin.Write(append(b, '\n')); err != nil {
		t.Fatalf("write to node: %v", err)
	}
}

func TestInteropNodeAdapter(t *testing.T) {
	interopDir(t)
	srv := redistest.Start(t)
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			n := startCluster(t, srv, mode, 1)[0]
			onIOHub := dial(t, n.http, "/")
			join(t, n, onIOHub, "room")
			peer := runNode(t, "peer.mjs", srv.URL(), "test", mode.node)
			peer.await(t, "ready")

			// Node server -> iohub client, by room and by the socket's id (24 characters:
			// Node's sharded adapter takes it for a room, not a socket id).
			for _, room := range []string{"room", onIOHub.sid} {
				eventually(t, "a Node broadcast to "+room+" reaches the iohub client", func() bool {
					peer.send(t, map[string]any{"room": room, "event": "msg", "args": []string{"from node"}})
					select {
					case ev := <-onIOHub.events:
						return ev.Name == "msg" && string(ev.Args[0]) == `"from node"`
					case <-time.After(100 * time.Millisecond):
						return false
					}
				})
			}

			// iohub node -> Node client.
			eventually(t, "an iohub broadcast reaches the Node client", func() bool {
				_ = n.io.To("room").Emit("msg", "from iohub")
				deadline := time.After(100 * time.Millisecond)
				for {
					select {
					case line := <-peer.lines:
						if line["got"] == "from iohub" {
							return true
						}
					case <-deadline:
						return false
					}
				}
			})

			// Node's fetchSockets: in sharded mode iohub nodes answer (Node counts them by
			// SHARDNUMSUB); Node's classic adapter asks on request channels iohub does not serve.
			peer.send(t, map[string]any{"fetch": true})
			want := map[bool]float64{false: 1, true: 2}[mode.sharded]
			if got := peer.await(t, "fetched"); got != want {
				t.Errorf("Node fetchSockets found %v sockets, want %v", got, want)
			}
		})
	}
}

func TestInteropEmitter(t *testing.T) {
	interopDir(t)
	srv := redistest.Start(t)
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			n := startCluster(t, srv, mode, 1)[0]
			inRoom := dial(t, n.http, "/")
			outside := dial(t, n.http, "/")
			onChat := dial(t, n.http, "/chat")
			join(t, n, inRoom, "room")
			join(t, n, onChat, "room")

			emits := `[{"nsp":"/","rooms":["room"],"event":"msg","args":["to room"]},` +
				`{"nsp":"/","event":"msg","args":["to all"]},` +
				`{"nsp":"/chat","rooms":["room"],"event":"msg","args":["to chat room"]}]`
			runNode(t, "emit.mjs", srv.URL(), "test", emits).await(t, "done")

			if got := inRoom.expect(t, "msg"); got != `"to room"` {
				t.Errorf("room member first got %s", got)
			}
			for _, c := range []*wsClient{inRoom, outside} {
				if got := c.expect(t, "msg"); got != `"to all"` {
					t.Errorf("got %s, want the emit to all", got)
				}
			}
			if got := onChat.expect(t, "msg"); got != `"to chat room"` {
				t.Errorf("/chat room member got %s", got)
			}
		})
	}
}
