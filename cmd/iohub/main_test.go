package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// binary is the iohub executable TestMain builds for every test of this file.
var binary string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

// buildAndRun builds the binary into a temporary directory, runs the tests and cleans up.
func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "iohub-cli-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, "temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "iohub")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// result is what one run of the binary printed and how it exited.
type result struct {
	stdout, stderr string
	code           int
}

// iohub runs the binary with args and, on top of the test's environment without any
// IOHUB_* variable, the variables of env ("KEY=value").
func iohub(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), binary, args...)
	cmd.Env = append(cleanEnv(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running iohub %v: %v", args, err)
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
}

// cleanEnv is the test's environment without IOHUB_* variables.
func cleanEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "IOHUB_") })
}

func TestVersion(t *testing.T) {
	r := iohub(t, nil, "version")
	want := fmt.Sprintf("iohub %s (%s)\n", version, runtime.Version())
	if r.code != exitOK || r.stdout != want {
		t.Fatalf("iohub version = %d %q (stderr %q), want 0 %q", r.code, r.stdout, r.stderr, want)
	}
}

func TestVersionFromLdflags(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "iohub")
	build := exec.Command("go", "build", "-ldflags", "-X main.version=9.8.7", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.CommandContext(t.Context(), bin, "version").Output()
	if err != nil {
		t.Fatalf("iohub version: %v", err)
	}
	if want := fmt.Sprintf("iohub 9.8.7 (%s)\n", runtime.Version()); string(out) != want {
		t.Fatalf("iohub version = %q, want %q", out, want)
	}
}

func TestToken(t *testing.T) {
	configFile := filepath.Join(t.TempDir(), "iohub.yaml")
	if err := os.WriteFile(configFile, []byte("auth:\n  jwt:\n    secret: file-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		env       []string
		args      []string
		secret    string
		wantName  any
		wantRooms any
		wantTTL   time.Duration
	}{
		{
			name:   "secret from env, defaults",
			env:    []string{"IOHUB_AUTH_JWT_SECRET=env-secret"},
			args:   []string{"token", "--sub", "u1"},
			secret: "env-secret", wantTTL: time.Hour,
		},
		{
			name:   "every option",
			env:    []string{"IOHUB_AUTH_JWT_SECRET=env-secret"},
			args:   []string{"token", "--sub", "u1", "--name", "Ann", "--rooms", "general,team-*", "--ttl", "2h"},
			secret: "env-secret", wantName: "Ann", wantRooms: []any{"general", "team-*"}, wantTTL: 2 * time.Hour,
		},
		{
			name:   "secret from config file",
			args:   []string{"token", "--config", configFile, "--sub", "u1"},
			secret: "file-secret", wantTTL: time.Hour,
		},
		{
			name:   "secret flag beats env",
			env:    []string{"IOHUB_AUTH_JWT_SECRET=env-secret"},
			args:   []string{"token", "--auth.jwt.secret", "flag-secret", "--sub", "u1"},
			secret: "flag-secret", wantTTL: time.Hour,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := iohub(t, tc.env, tc.args...)
			if r.code != exitOK {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			claims := parseToken(t, strings.TrimSuffix(r.stdout, "\n"), tc.secret)
			if claims["sub"] != "u1" || claims["name"] != tc.wantName {
				t.Errorf("sub, name = %v, %v; want u1, %v", claims["sub"], claims["name"], tc.wantName)
			}
			if fmt.Sprint(claims["rooms"]) != fmt.Sprint(tc.wantRooms) {
				t.Errorf("rooms = %v, want %v", claims["rooms"], tc.wantRooms)
			}
			exp, err1 := claims.GetExpirationTime()
			iat, err2 := claims.GetIssuedAt()
			if err := errors.Join(err1, err2); err != nil || exp == nil || iat == nil {
				t.Fatalf("exp %v, iat %v: %v", exp, iat, err)
			}
			if ttl := exp.Sub(iat.Time); ttl != tc.wantTTL {
				t.Errorf("exp - iat = %s, want %s", ttl, tc.wantTTL)
			}
		})
	}
}

// parseToken verifies an HS256 token with secret and returns its claims.
func parseToken(t *testing.T, raw, secret string) jwt.MapClaims {
	t.Helper()
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) { return []byte(secret), nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired())
	if err != nil {
		t.Fatalf("token %q does not verify with %q: %v", raw, secret, err)
	}
	return claims
}

// TestUsageErrors checks that every refused command line or configuration exits 2 with
// exactly one line on stderr.
func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	unknownKey := filepath.Join(dir, "unknown.yaml")
	if err := os.WriteFile(unknownKey, []byte("limits:\n  max_msg_len: 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		env        []string
		args       []string
		wantStderr string
	}{
		{
			name:       "bad config value from a flag",
			args:       []string{"serve", "--auth.jwt.secret", "s", "--limits.max_message_length", "0"},
			wantStderr: "iohub: limits.max_message_length: must be at least 1, got 0\n",
		},
		{
			name:       "bad config value from env on bare iohub",
			env:        []string{"IOHUB_AUTH_JWT_SECRET=s", "IOHUB_ROOMS_DEFAULT_POLICY=x"},
			wantStderr: "iohub: rooms.default_policy: must be \"open\" or \"closed\", got \"x\"\n",
		},
		{
			name:       "no secret",
			args:       []string{"serve"},
			wantStderr: "iohub: auth.jwt.secret is required unless dev mode is on (or set auth.jwt.public_key_file or auth.jwt.jwks_url)\n",
		},
		{
			name:       "unknown key in the config file",
			args:       []string{"serve", "--config", unknownKey},
			wantStderr: fmt.Sprintf("iohub: config file %s: unknown key \"limits.max_msg_len\"\n", unknownKey),
		},
		{
			name:       "missing config file",
			args:       []string{"--config", filepath.Join(dir, "nope.toml")},
			wantStderr: fmt.Sprintf("iohub: config file %s: open %s: no such file or directory\n", filepath.Join(dir, "nope.toml"), filepath.Join(dir, "nope.toml")),
		},
		{
			name:       "unknown flag",
			args:       []string{"serve", "--nope"},
			wantStderr: "iohub: unknown flag: --nope\n",
		},
		{
			name:       "unknown command",
			args:       []string{"frob"},
			wantStderr: "iohub: unknown command \"frob\" for \"iohub\"\n",
		},
		{
			name:       "token without --sub",
			env:        []string{"IOHUB_AUTH_JWT_SECRET=s"},
			args:       []string{"token"},
			wantStderr: "iohub: required flag(s) \"sub\" not set\n",
		},
		{
			name:       "token with a zero ttl",
			env:        []string{"IOHUB_AUTH_JWT_SECRET=s"},
			args:       []string{"token", "--sub", "u1", "--ttl", "0s"},
			wantStderr: "iohub: --ttl: must be greater than 0, got 0s\n",
		},
		{
			name:       "token in dev mode without a secret",
			env:        []string{"IOHUB_DEV=true"},
			args:       []string{"token", "--sub", "u1"},
			wantStderr: "iohub: auth.jwt.secret is not set: iohub token signs with it (set IOHUB_AUTH_JWT_SECRET, --auth.jwt.secret or the config file; in dev mode use GET /dev/token instead)\n",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := iohub(t, tc.env, tc.args...)
			if r.code != exitUsage || r.stderr != tc.wantStderr || r.stdout != "" {
				t.Fatalf("exit %d, stderr %q, stdout %q; want exit 2, stderr %q", r.code, r.stderr, r.stdout, tc.wantStderr)
			}
		})
	}
}

// TestServe runs the server end to end: it logs the address it listens on, answers
// /healthz, serves profiles on the debug.pprof_listen address only, and exits 0 on SIGTERM.
func TestServe(t *testing.T) {
	cmd := exec.CommandContext(t.Context(), binary, "serve", "--listen", "127.0.0.1:0", "--dev", "--store.driver", "memory",
		"--debug.pprof_listen", "127.0.0.1:0")
	cmd.Env = cleanEnv()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	logs := bufio.NewScanner(stderr)
	addr, seen := waitListening(logs)
	if addr == "" {
		t.Fatalf("serve ended before logging \"listening\" (server.New not implemented yet?); exit %v; stderr:\n%s", cmd.Wait(), seen)
	}
	if !strings.Contains(seen, `"level":"WARN","msg":"DEV MODE`) {
		t.Errorf("no dev-mode warning before listening; stderr:\n%s", seen)
	}

	var pprofLog struct{ Pprof string }
	for line := range strings.SplitSeq(seen, "\n") {
		if strings.Contains(line, `"pprof"`) {
			_ = json.Unmarshal([]byte(line), &pprofLog)
		}
	}
	if pprofLog.Pprof == "" {
		t.Fatalf("no log line naming the pprof address; stderr:\n%s", seen)
	}
	for _, c := range []struct {
		url  string
		want int
	}{
		{"http://" + addr + "/healthz", http.StatusOK},
		{"http://" + pprofLog.Pprof + "/debug/pprof/cmdline", http.StatusOK},
		{"http://" + addr + "/debug/pprof/cmdline", http.StatusNotFound},
	} {
		if got := httpStatus(t, c.url); got != c.want {
			t.Errorf("GET %s = %d, want %d", c.url, got, c.want)
		}
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	rest, _ := io.ReadAll(stderr) // until the process closes its stderr
	if err := cmd.Wait(); err != nil {
		t.Fatalf("after SIGTERM: %v; stderr after listening:\n%s", err, rest)
	}
}

// httpStatus is the status code of GET url.
func httpStatus(t *testing.T, url string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitListening reads JSON log lines until the "listening" record and returns its addr,
// or "" when the log ends first, with every line read.
func waitListening(logs *bufio.Scanner) (addr, seen string) {
	var lines strings.Builder
	for logs.Scan() {
		lines.WriteString(logs.Text() + "\n")
		var rec struct{ Msg, Addr string }
		if json.Unmarshal(logs.Bytes(), &rec) == nil && rec.Msg == "listening" {
			return rec.Addr, lines.String()
		}
	}
	return "", lines.String()
}
