package types

import "testing"

// iohub patch (ParameterBag.Modified): every method that changes the parameters marks the
// bag; reading it does not.
func TestParameterBagModified(t *testing.T) {
	changes := map[string]func(*ParameterBag){
		"Replace": func(b *ParameterBag) { b.Replace(map[string][]string{"a": {"1"}}) },
		"With":    func(b *ParameterBag) { b.With(map[string][]string{"a": {"1"}}) },
		"Add":     func(b *ParameterBag) { b.Add("a", "1") },
		"Set":     func(b *ParameterBag) { b.Set("a", "1") },
		"Remove":  func(b *ParameterBag) { b.Remove("a") },
	}
	for name, change := range changes {
		b := NewParameterBag(map[string][]string{"a": {"0"}})
		b.Get("a")
		b.Gets("a")
		b.All()
		b.Has("a")
		if b.Modified() {
			t.Fatalf("%s: reading marked the bag modified", name)
		}
		change(b)
		if !b.Modified() {
			t.Errorf("%s did not mark the bag modified", name)
		}
	}
}
