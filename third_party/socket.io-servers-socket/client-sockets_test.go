package socket

import "testing"

// iohub patch (clientSockets): a client finds its socket by namespace, a second socket of a
// namespace replaces the first (as upstream's by-name map did), and removal goes by id.
func TestClientSockets(t *testing.T) {
	srv := NewServer(nil, nil)
	defer srv.Close(nil)
	a1 := &Socket{id: "a1", nsp: srv.Of("/a", nil)}
	a2 := &Socket{id: "a2", nsp: srv.Of("/a", nil)}
	b := &Socket{id: "b", nsp: srv.Of("/b", nil)}

	var c clientSockets
	c.add(a1)
	c.add(b)
	if s, ok := c.byNamespace("/a"); !ok || s != a1 {
		t.Fatalf("byNamespace(/a) = %v, %v", s, ok)
	}
	c.add(a2)
	if s, _ := c.byNamespace("/a"); s != a2 || c.len() != 2 {
		t.Fatalf("after a second /a socket: byNamespace(/a) = %v, len %d", s, c.len())
	}
	if c.remove("a1") {
		t.Error("removed a socket that was replaced")
	}
	all := c.all()
	if !c.remove("a2") || c.len() != 1 || len(all) != 2 {
		t.Fatalf("remove(a2): len %d, earlier copy %d", c.len(), len(all))
	}
	if _, ok := c.byNamespace("/a"); ok {
		t.Error("/a still found after its socket left")
	}
	c.clear()
	if _, ok := c.byNamespace("/b"); ok || c.len() != 0 {
		t.Error("sockets left after clear")
	}
}
