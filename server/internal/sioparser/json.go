package sioparser

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// maxDepth bounds the nesting the scanner follows itself; deeper values go to the library
// (encoding/json allows 10000 levels).
const maxDepth = 64

// decodeArray decodes the JSON array at the start of s into what encoding/json's Unmarshal
// into an `any` gives (objects as map[string]any, numbers as float64) and ignores what
// follows it, as the library's json.Decoder does. ok is false when s does not start with a
// valid array or holds a value that this scanner leaves to encoding/json: the caller then
// lets the library decode the whole packet. Strings share s's memory unless they hold
// escapes or invalid UTF-8, which encoding/json decodes. The array has room for spare
// more elements beyond its length (the socket appends an event's ack callback).
func decodeArray(s string, spare int) (args []any, ok bool) {
	sc := scanner{s: s}
	if !sc.skipSpace() || sc.s[sc.i] != '[' {
		return nil, false
	}
	return sc.array(1, spare)
}

// scanner reads JSON values from s; i is the next byte.
type scanner struct {
	s string
	i int
}

// value reads the value at i, after optional whitespace.
func (sc *scanner) value(depth int) (any, bool) {
	if depth > maxDepth || !sc.skipSpace() {
		return nil, false
	}
	switch c := sc.s[sc.i]; {
	case c == '[':
		arr, ok := sc.array(depth+1, 0)
		return arr, ok
	case c == '{':
		return sc.object(depth + 1)
	case c == '"':
		str, ok := sc.str()
		return str, ok
	case c == '-' || (c >= '0' && c <= '9'):
		return sc.number()
	case c == 't':
		return true, sc.literal("true")
	case c == 'f':
		return false, sc.literal("false")
	case c == 'n':
		return nil, sc.literal("null")
	}
	return nil, false
}

// array reads an array, with spare capacity beyond its elements; i is at its '['. The
// elements gather on the stack first, so that a short array costs one allocation.
func (sc *scanner) array(depth, spare int) ([]any, bool) {
	sc.i++
	var buf [8]any
	arr := buf[:0]
	if !sc.next(']') {
		for {
			v, ok := sc.value(depth)
			if !ok {
				return nil, false
			}
			arr = append(arr, v)
			if sc.next(']') {
				break
			}
			if !sc.next(',') {
				return nil, false
			}
		}
	}
	return append(make([]any, 0, len(arr)+spare), arr...), true
}

// object reads an object; i is at its '{'. A repeated key keeps its last value, as with
// encoding/json.
func (sc *scanner) object(depth int) (any, bool) {
	sc.i++
	obj := make(map[string]any)
	if sc.next('}') {
		return obj, true
	}
	for {
		if !sc.skipSpace() || sc.s[sc.i] != '"' {
			return nil, false
		}
		key, ok := sc.str()
		if !ok || !sc.next(':') {
			return nil, false
		}
		v, ok := sc.value(depth)
		if !ok {
			return nil, false
		}
		obj[key] = v
		if sc.next('}') {
			return obj, true
		}
		if !sc.next(',') {
			return nil, false
		}
	}
}

// str reads a string; i is at its opening quote. A string with escapes or bytes that are
// not valid UTF-8 is decoded by encoding/json (which also refuses bad escapes and control
// characters).
func (sc *scanner) str() (string, bool) {
	start := sc.i
	sc.i++
	plain := true
	ascii := true
	for sc.i < len(sc.s) {
		switch c := sc.s[sc.i]; {
		case c == '"':
			sc.i++
			body := sc.s[start+1 : sc.i-1]
			if plain && (ascii || utf8.ValidString(body)) {
				return body, true
			}
			var out string
			if err := json.Unmarshal([]byte(sc.s[start:sc.i]), &out); err != nil {
				return "", false
			}
			return out, true
		case c == '\\':
			plain = false
			sc.i += 2
		case c < ' ':
			return "", false
		default:
			if c >= utf8.RuneSelf {
				ascii = false
			}
			sc.i++
		}
	}
	return "", false
}

// number reads a number as JSON spells it into a float64, as encoding/json does; one
// out of float64's range is left to it (it refuses it).
func (sc *scanner) number() (any, bool) {
	start := sc.i
	sc.accept('-')
	switch {
	case sc.accept('0'):
	case sc.digits() == 0:
		return nil, false
	}
	if sc.accept('.') && sc.digits() == 0 {
		return nil, false
	}
	if sc.accept('e') || sc.accept('E') {
		if !sc.accept('+') {
			sc.accept('-')
		}
		if sc.digits() == 0 {
			return nil, false
		}
	}
	f, err := strconv.ParseFloat(sc.s[start:sc.i], 64)
	if err != nil {
		return nil, false
	}
	return f, true
}

// digits skips decimal digits and says how many.
func (sc *scanner) digits() int {
	start := sc.i
	for sc.i < len(sc.s) && sc.s[sc.i] >= '0' && sc.s[sc.i] <= '9' {
		sc.i++
	}
	return sc.i - start
}

// accept skips c when it is the next byte.
func (sc *scanner) accept(c byte) bool {
	if sc.i < len(sc.s) && sc.s[sc.i] == c {
		sc.i++
		return true
	}
	return false
}

// literal skips word (true, false, null), which must be next.
func (sc *scanner) literal(word string) bool {
	if len(sc.s)-sc.i < len(word) || sc.s[sc.i:sc.i+len(word)] != word {
		return false
	}
	sc.i += len(word)
	return true
}

// next skips whitespace, then c when it is the next byte.
func (sc *scanner) next(c byte) bool {
	return sc.skipSpace() && sc.accept(c)
}

// skipSpace skips JSON whitespace and says whether anything follows.
func (sc *scanner) skipSpace() bool {
	for sc.i < len(sc.s) {
		switch sc.s[sc.i] {
		case ' ', '\t', '\n', '\r':
			sc.i++
		default:
			return true
		}
	}
	return false
}
