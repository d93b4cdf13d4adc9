package bolt

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/iohub/iohub/server/chat"
)

var testBucket = []byte("test")

// put writes key k.
func put(k string) txFunc {
	return func(tx *bbolt.Tx) error { return tx.Bucket(testBucket).Put([]byte(k), []byte("v")) }
}

// errBoom is the failure of breakAfterPut.
var errBoom = errors.New("boom")

// breakAfterPut writes key k and then fails, so its write must be rolled back.
func breakAfterPut(k string) txFunc {
	return func(tx *bbolt.Tx) error {
		if err := put(k)(tx); err != nil {
			return err
		}
		return errBoom
	}
}

// refuse refuses the request without writing.
func refuse(*bbolt.Tx) error { return refusal{chat.ErrNotFound} }

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
			db := openTestDB(t)
			w := &writer{db: db, maxBatch: len(tt.batch)} // commit is called directly, without run
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
			if got := keys(t, db); !slices.Equal(got, tt.wantKeys) {
				t.Errorf("stored keys %q, want %q", got, tt.wantKeys)
			}
		})
	}
}

// openTestDB opens a database with testBucket in a fresh directory.
func openTestDB(t *testing.T) *bbolt.DB {
	t.Helper()
	db, err := bbolt.Open(filepath.Join(t.TempDir(), "test.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	err = db.Update(func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucket(testBucket)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// keys lists the keys of testBucket in order.
func keys(t *testing.T, db *bbolt.DB) []string {
	t.Helper()
	var out []string
	err := db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(testBucket).ForEach(func(k, _ []byte) error {
			out = append(out, string(k))
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
