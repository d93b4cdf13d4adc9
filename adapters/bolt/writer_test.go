package bolt

import (
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/iohub/iohub/server/chat"
)

// put writes key k.
func put(k string) txFunc {
	return func(v *view) error {
		v.batch.kv[kvCursors][k] = []byte("v")
		return nil
	}
}

// errBoom is the failure of breakAfterPut.
var errBoom = errors.New("boom")

// breakAfterPut writes key k and then fails, so its write must be dropped.
func breakAfterPut(k string) txFunc {
	return func(v *view) error {
		if err := put(k)(v); err != nil {
			return err
		}
		return errBoom
	}
}

// refuse refuses the request without writing.
func refuse(*view) error { return refusal{chat.ErrNotFound} }

func TestCommitIsolatesRequests(t *testing.T) {
	tests := []struct {
		name     string
		batch    []txFunc
		wantErrs []error
		wantKeys []string
	}{
		{"all succeed", []txFunc{put("a"), put("b")}, []error{nil, nil}, []string{"a", "b"}},
		{"one refused", []txFunc{put("a"), refuse, put("b")}, []error{nil, chat.ErrNotFound, nil}, []string{"a", "b"}},
		{"one fails after writing", []txFunc{put("a"), breakAfterPut("x"), put("b")}, []error{nil, errBoom, nil}, []string{"a", "b"}},
		{"first fails", []txFunc{breakAfterPut("x"), put("a")}, []error{errBoom, nil}, []string{"a"}},
		{"every kind", []txFunc{refuse, breakAfterPut("x"), put("a"), breakAfterPut("y"), refuse}, []error{chat.ErrNotFound, errBoom, nil, errBoom, chat.ErrNotFound}, []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(t.TempDir(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			w := &writer{db: s.db, log: s.writer.log, mem: newOverlay()} // commit is called directly, without run
			batch := make([]*request, len(tt.batch))
			for i, apply := range tt.batch {
				batch[i] = &request{apply: apply, done: make(chan error, 1)}
			}
			w.commit(slices.Clone(batch))
			for i, r := range batch {
				if err := <-r.done; !errors.Is(err, tt.wantErrs[i]) {
					t.Errorf("request %d: error %v, want %v", i, err, tt.wantErrs[i])
				}
			}
			if got := slices.Sorted(maps.Keys(w.mem.kv[kvCursors])); !slices.Equal(got, tt.wantKeys) {
				t.Errorf("stored keys %q, want %q", got, tt.wantKeys)
			}
		})
	}
}
