package auth

import (
	"errors"
	"fmt"
	"testing"
)

func TestExtractToken(t *testing.T) {
	tests := []struct {
		name    string
		src     TokenSources
		want    string
		wantErr error
	}{
		{"nothing", TokenSources{}, "", ErrMissingToken},
		{"auth wins over header and query", TokenSources{Auth: map[string]any{"token": "a"}, Authorization: "Bearer h", Query: []string{"q"}}, "a", nil},
		{"empty auth.token falls through to the header", TokenSources{Auth: map[string]any{"token": ""}, Authorization: "Bearer h"}, "h", nil},
		{"null auth.token falls through", TokenSources{Auth: map[string]any{"token": nil}, Query: []string{"q"}}, "q", nil},
		{"auth without token falls through", TokenSources{Auth: map[string]any{"other": "x"}, Authorization: "Bearer h"}, "h", nil},
		{"non-string auth.token is not rescued by a valid header", TokenSources{Auth: map[string]any{"token": 42.0}, Authorization: "Bearer h"}, "", ErrInvalidToken},
		{"object auth.token", TokenSources{Auth: map[string]any{"token": map[string]any{"jwt": "x"}}, Query: []string{"q"}}, "", ErrInvalidToken},
		{"header wins over query", TokenSources{Authorization: "Bearer h", Query: []string{"q"}}, "h", nil},
		{"lowercase bearer", TokenSources{Authorization: "bearer h"}, "h", nil},
		{"uppercase BEARER", TokenSources{Authorization: "BEARER h"}, "h", nil},
		{"extra spaces around the token", TokenSources{Authorization: "Bearer   h  "}, "h", nil},
		{"non-Bearer header is a token, and invalid", TokenSources{Authorization: "Basic dXNlcjpwdw==", Query: []string{"q"}}, "", ErrInvalidToken},
		{"Bearer without a token", TokenSources{Authorization: "Bearer", Query: []string{"q"}}, "", ErrInvalidToken},
		{"Bearer with blanks only", TokenSources{Authorization: "Bearer   ", Query: []string{"q"}}, "", ErrInvalidToken},
		{"query", TokenSources{Query: []string{"q"}}, "q", nil},
		{"empty query value", TokenSources{Query: []string{""}}, "", ErrMissingToken},
		{"empty and non-empty query values", TokenSources{Query: []string{"", "q"}}, "q", nil},
		{"two query tokens", TokenSources{Query: []string{"q1", "q2"}}, "", ErrInvalidToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ExtractToken(tc.src)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || got != "" {
					t.Fatalf("ExtractToken = %q, %v; want an error wrapping %v", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ExtractToken = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"missing", ErrMissingToken, "missing_token"},
		{"wrapped missing", fmtWrap(ErrMissingToken), "missing_token"},
		{"wrapped invalid", fmtWrap(ErrInvalidToken), "invalid_token"},
		{"wrapped expired", fmtWrap(ErrTokenExpired), "token_expired"},
		{"foreign error", errors.New("boom"), "invalid_token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Code(tc.err); got != tc.want {
				t.Errorf("Code(%v) = %q, want %q", tc.err, got, tc.want)
			}
		})
	}
}

// fmtWrap wraps err with a reason, the way this package does.
func fmtWrap(err error) error { return fmt.Errorf("%w: some reason", err) }
