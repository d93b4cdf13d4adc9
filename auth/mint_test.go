package auth

import (
	"reflect"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestMintVerifies(t *testing.T) {
	v := newTestVerifier(t, Options{Secret: testSecret})
	tests := []struct {
		name string
		opts MintOptions
		want Identity
	}{
		{"subject only", MintOptions{Subject: "u1"}, Identity{UserID: "u1", UserName: "u1"}},
		{"name", MintOptions{Subject: "u1", Name: "Ann", TTL: time.Hour}, Identity{UserID: "u1", UserName: "Ann"}},
		{"rooms", MintOptions{Subject: "u1", Rooms: []string{"general", "team-*"}}, Identity{UserID: "u1", UserName: "u1", Rooms: []string{"general", "team-*"}, HasRooms: true}},
		{"empty rooms", MintOptions{Subject: "u1", Rooms: []string{}}, Identity{UserID: "u1", UserName: "u1", Rooms: []string{}, HasRooms: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := Mint(testSecret, tc.opts)
			if err != nil {
				t.Fatalf("Mint: %v", err)
			}
			id, err := v.Verify(tok)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !reflect.DeepEqual(id, tc.want) {
				t.Errorf("Verify = %+v, want %+v", id, tc.want)
			}
		})
	}
}

func TestMintClaims(t *testing.T) {
	tests := []struct {
		name    string
		opts    MintOptions
		present []string
		absent  []string
	}{
		{"minimal", MintOptions{Subject: "u1"}, []string{"sub", "iat"}, []string{"exp", "name", "rooms"}},
		{"everything", MintOptions{Subject: "u1", Name: "Ann", Rooms: []string{"a"}, TTL: time.Minute}, []string{"sub", "iat", "exp", "name", "rooms"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := Mint(testSecret, tc.opts)
			if err != nil {
				t.Fatalf("Mint: %v", err)
			}
			c := jwt.MapClaims{}
			parsed, _, err := jwt.NewParser().ParseUnverified(tok, c)
			if err != nil {
				t.Fatalf("parse minted token: %v", err)
			}
			if alg := parsed.Method.Alg(); alg != "HS256" {
				t.Errorf("alg = %s, want HS256", alg)
			}
			for _, k := range tc.present {
				if _, ok := c[k]; !ok {
					t.Errorf("claim %s missing from %v", k, c)
				}
			}
			for _, k := range tc.absent {
				if _, ok := c[k]; ok {
					t.Errorf("claim %s present in %v", k, c)
				}
			}
		})
	}
}

func TestMintExpiry(t *testing.T) {
	tok, err := Mint(testSecret, MintOptions{Subject: "u1", TTL: time.Hour})
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	c := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tok, c); err != nil {
		t.Fatalf("parse minted token: %v", err)
	}
	iat, errIat := c.GetIssuedAt()
	exp, errExp := c.GetExpirationTime()
	if errIat != nil || errExp != nil || iat == nil || exp == nil {
		t.Fatalf("iat = %v (%v), exp = %v (%v)", iat, errIat, exp, errExp)
	}
	if d := exp.Sub(iat.Time); d != time.Hour {
		t.Errorf("exp - iat = %s, want 1h", d)
	}
}

func TestMintErrors(t *testing.T) {
	tests := []struct {
		name   string
		secret string
		opts   MintOptions
	}{
		{"no secret", "", MintOptions{Subject: "u1"}},
		{"no subject", testSecret, MintOptions{}},
		{"negative ttl", testSecret, MintOptions{Subject: "u1", TTL: -time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tok, err := Mint(tc.secret, tc.opts); err == nil {
				t.Fatalf("Mint = %q, want an error", tok)
			}
		})
	}
}
