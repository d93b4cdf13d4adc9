package redistest

import (
	"io"
	"net"
	"sync"
	"testing"
)

// Proxy forwards TCP connections to a Redis server until Cut, so a test can take one
// node off Redis as a crash or a network partition would, while other nodes keep it.
type Proxy struct {
	// Addr is the address clients dial instead of the server's.
	Addr string

	ln    net.Listener
	to    string
	mu    sync.Mutex
	conns []net.Conn
	cut   bool
	wg    sync.WaitGroup // the accept loop and the copy goroutines
}

// NewProxy forwards a fresh 127.0.0.1 port to s; it is cut when the test ends.
func NewProxy(t testing.TB, s *Server) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("redistest: proxy listen: %v", err)
	}
	p := &Proxy{Addr: ln.Addr().String(), ln: ln, to: s.Addr}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.Cut)
	return p
}

// Cut closes the listener and every forwarded connection and waits for the proxy's
// goroutines. It is idempotent.
func (p *Proxy) Cut() {
	p.mu.Lock()
	p.cut = true
	_ = p.ln.Close()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// accept forwards each client connection until the proxy is cut.
func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.to)
		if err != nil {
			_ = client.Close()
			continue
		}
		if !p.track(client, server) {
			return
		}
		p.wg.Add(2)
		go p.pipe(client, server)
		go p.pipe(server, client)
	}
}

// track records a connection pair, or closes it when the proxy is already cut.
func (p *Proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut {
		for _, c := range conns {
			_ = c.Close()
		}
		return false
	}
	p.conns = append(p.conns, conns...)
	return true
}

// pipe copies one direction and closes both ends when it ends.
func (p *Proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	_, _ = io.Copy(dst, src)
	_ = dst.Close()
	_ = src.Close()
}
