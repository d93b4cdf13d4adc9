package chat

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

func errCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err != nil {
		return "not an *Error"
	}
	return ""
}

func TestValidateRoomID(t *testing.T) {
	tests := []struct {
		id   string
		want Code
	}{
		{"general", ""},
		{"a", ""},
		{"team-1_x.y:z", ""},
		{strings.Repeat("a", 128), ""},
		{strings.Repeat("a", 129), CodeBadRequest},
		{"", CodeBadRequest},
		{"-leading", CodeBadRequest},
		{"has space", CodeBadRequest},
		{"ünicode", CodeBadRequest},
		{"user:alice", CodeForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			if got := errCode(ValidateRoomID(tt.id)); got != tt.want {
				t.Fatalf("ValidateRoomID(%q) = %q, want %q", tt.id, got, tt.want)
			}
		})
	}
}

func TestValidateContent(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    Code
	}{
		{"text", "hi", ""},
		{"empty", "", CodeBadRequest},
		{"ascii blank", " \t\n", CodeBadRequest},
		{"unicode blank", "\u00a0\u2003\u3000", CodeBadRequest},
		{"at the limit in code points", strings.Repeat("é", 10), ""},
		{"over the limit", strings.Repeat("é", 11), CodeTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errCode(ValidateContent(tt.content, 10)); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRanges(t *testing.T) {
	n := func(i int) *int { return &i }
	tests := []struct {
		name string
		err  error
		want Code
	}{
		{"historyLimit 0", JoinRequest{RoomID: "r", HistoryLimit: n(0)}.Validate(), ""},
		{"historyLimit 200", JoinRequest{RoomID: "r", HistoryLimit: n(200)}.Validate(), ""},
		{"historyLimit 201", JoinRequest{RoomID: "r", HistoryLimit: n(201)}.Validate(), CodeBadRequest},
		{"historyLimit -1", JoinRequest{RoomID: "r", HistoryLimit: n(-1)}.Validate(), CodeBadRequest},
		{"limit 0", HistoryRequest{RoomID: "r", Limit: n(0)}.Validate(), CodeBadRequest},
		{"limit 1", HistoryRequest{RoomID: "r", Limit: n(1)}.Validate(), ""},
		{"read without id", ReadRequest{RoomID: "r"}.Validate(), CodeBadRequest},
		{"empty replyTo", SendRequest{RoomID: "r", Content: "x", ReplyTo: new(string)}.Validate(10), CodeBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errCode(tt.err); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestValidRoomIDMatchesPattern holds the hand-written check to the documented pattern.
func TestValidRoomIDMatchesPattern(t *testing.T) {
	re := regexp.MustCompile(roomIDPattern)
	ids := []string{
		"", "a", "general", "A-b_c.d:e", "-a", "_a", ".a", ":a", "a b", "a/b", "é", "aé",
		"a\n", "\na", strings.Repeat("a", 128), strings.Repeat("a", 129), "user:1", "9", "a$", "a-",
	}
	for _, id := range ids {
		if got, want := validRoomID(id), re.MatchString(id); got != want {
			t.Errorf("validRoomID(%q) = %v, the pattern says %v", id, got, want)
		}
	}
}

func BenchmarkValidateRoomID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if err := ValidateRoomID("general-room.42"); err != nil {
			b.Fatal(err)
		}
	}
}
