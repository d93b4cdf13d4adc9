package auth

import "testing"

func TestCanJoinPatterns(t *testing.T) {
	tests := []struct {
		pattern string
		room    string
		want    bool
	}{
		{"general", "general", true},
		{"general", "general2", false},
		{"general", "xgeneral", false},
		{"general", "General", false},
		{"team-*", "team-a", true},
		{"team-*", "team-", true},
		{"team-*", "team", false},
		{"team-*", "my-team-a", false},
		{"*", "anything", true},
		{"*", "", true},
		{"*-ops", "team-ops", true},
		{"*-ops", "team-ops-2", false},
		{"a*b*c", "abc", true},
		{"a*b*c", "a-b-b-c", true},
		{"a*b*c", "a-c-b", false},
		{"a*bb", "abbb", true},
		{"**", "x", true},
		{"a.b", "a.b", true},
		{"a.b", "axb", false},
		{"team+", "teammm", false},
		{"team+", "team+", true},
		{"(x|y)", "x", false},
		{"[ab]", "a", false},
		{"^room$", "room", false},
		{"r?", "ra", false},
		{`a\d`, "a1", false},
	}
	for _, tc := range tests {
		t.Run(tc.pattern+"~"+tc.room, func(t *testing.T) {
			id := Identity{UserID: "u", Rooms: []string{tc.pattern}, HasRooms: true}
			for _, def := range []Policy{PolicyOpen, PolicyClosed} {
				if got := id.CanJoin(tc.room, def); got != tc.want {
					t.Errorf("pattern %q, room %q, default %s: CanJoin = %v, want %v", tc.pattern, tc.room, def, got, tc.want)
				}
			}
		})
	}
}

func TestCanJoinClaimAndPolicy(t *testing.T) {
	tests := []struct {
		name string
		id   Identity
		def  Policy
		want bool
	}{
		{"no claim, open", Identity{}, PolicyOpen, true},
		{"no claim, closed", Identity{}, PolicyClosed, false},
		{"no claim, unknown policy is closed", Identity{}, Policy("whatever"), false},
		{"empty claim, open", Identity{Rooms: []string{}, HasRooms: true}, PolicyOpen, false},
		{"second pattern matches", Identity{Rooms: []string{"general", "team-*"}, HasRooms: true}, PolicyClosed, true},
		{"no pattern matches, open", Identity{Rooms: []string{"general", "dev-*"}, HasRooms: true}, PolicyOpen, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.id.CanJoin("team-a", tc.def); got != tc.want {
				t.Errorf("CanJoin(team-a, %s) = %v, want %v", tc.def, got, tc.want)
			}
		})
	}
}
