package types

import (
	"reflect"
	"runtime/debug"
	"slices"
	"sync"

	"github.com/zishang520/socket.io/v3/pkg/log"
)

const (
	// Version current version number
	EventVersion = "0.0.3"
)

var eventsLog = log.NewLog("engine:events")

type (
	// EventName is just a type of string, it's the event name
	EventName string
	// Listener is the type of a Listener, it's a func which receives any,optional, arguments from the caller/emmiter
	EventListener func(...any)
	// Events the type for registered listeners, it's just a map[string][]func(...any)
	Events map[EventName][]EventListener
	// EventEmitter is the message/or/event manager
	EventEmitter interface {
		// AddListener is an alias for .On(eventName, listener).
		AddListener(EventName, ...EventListener) error
		// Emit fires a particular event,
		// Synchronously calls each of the listeners registered for the event named
		// eventName, in the order they were registered,
		// passing the supplied arguments to each.
		Emit(EventName, ...any)
		// EventNames returns an array listing the events for which the emitter has registered listeners.
		// The values in the array will be strings.
		EventNames() []EventName
		// ListenerCount returns the length of all registered listeners to a particular event
		ListenerCount(EventName) int
		// Listeners returns a copy of the array of listeners for the event named eventName.
		Listeners(EventName) []EventListener
		// On registers a particular listener for an event, func receiver parameter(s) is/are optional
		On(EventName, ...EventListener) error
		// Once adds a one time listener function for the event named eventName.
		// The next time eventName is triggered, this listener is removed and then invoked.
		Once(EventName, ...EventListener) error
		// RemoveAllListeners removes all listeners, or those of the specified eventName.
		// Note that it will remove the event itself.
		// Returns an indicator if event and listeners were found before the remove.
		RemoveAllListeners(EventName) bool
		// RemoveListener removes given listener from the event named eventName.
		// Returns an indicator whether listener was removed
		RemoveListener(EventName, EventListener) bool
		// Clear removes all events and all listeners, restores Events to an empty value
		Clear()
		// Len returns the length of all registered events
		Len() int
	}

	// eventEntry is one listener of one event. A nil fn marks an event whose listeners
	// were all removed one by one: it still counts in Len and EventNames, as upstream's did.
	eventEntry struct {
		evt EventName
		fn  EventListener
		ptr uintptr
	}

	// iohub patch: one mutex and one flat, copy-on-write slice of every listener of every
	// event, instead of a sync.Map-style Map of locked Slices. Every connection carries
	// several emitters (engine socket, transport, websocket, Socket.IO client and socket)
	// with a handful of events and one listener each, so their maps, entries and slices
	// were a large part of an idle connection's heap: an entry now costs 32 bytes in one
	// allocation per emitter. A linear scan of a few entries is also cheaper than hashing.
	// entries is never modified in place: a change stores a new slice, so Emit calls a
	// snapshot without holding the lock or copying it.
	emmiter struct {
		mu      sync.RWMutex
		entries []eventEntry
	}
)

// CopyTo copies the event listeners to an EventEmitter
func (e Events) CopyTo(emitter EventEmitter) {
	if len(e) > 0 {
		// register the events to/with their listeners
		for evt, listeners := range e {
			if len(listeners) > 0 {
				_ = emitter.AddListener(evt, listeners...)
			}
		}
	}
}

// New returns a new, empty, EventEmitter
func NewEventEmitter() EventEmitter {
	return &emmiter{}
}

// addListeners appends listeners (entries of evt) after evt's current listeners. An
// event's placeholder (see eventEntry) gives its place to the first new listener.
func (e *emmiter) addListeners(listeners []eventEntry) error {
	if len(listeners) == 0 {
		return nil
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	old := e.entries
	evt := listeners[0].evt
	if i := slices.IndexFunc(old, func(l eventEntry) bool { return l.evt == evt && l.fn == nil }); i >= 0 {
		entries := slices.Clone(old)
		entries[i] = listeners[0]
		listeners = listeners[1:]
		old = entries
	}
	// Sized to fit: an emitter holds a handful of listeners for the connection's lifetime.
	entries := make([]eventEntry, 0, len(old)+len(listeners))
	e.entries = append(append(entries, old...), listeners...)
	return nil
}

// snapshot is the current (immutable) entries.
func (e *emmiter) snapshot() []eventEntry {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.entries
}

func (e *emmiter) AddListener(evt EventName, listeners ...EventListener) error {
	if len(listeners) == 0 {
		return nil
	}

	var events []eventEntry
	for _, event := range listeners {
		if event != nil {
			events = append(events, eventEntry{evt: evt, fn: event, ptr: reflect.ValueOf(event).Pointer()})
		}
	}

	return e.addListeners(events)
}

// Alias: [AddListener]
func (e *emmiter) On(evt EventName, listeners ...EventListener) error {
	return e.AddListener(evt, listeners...)
}

func (e *emmiter) Emit(evt EventName, data ...any) {
	for _, event := range e.snapshot() {
		if event.evt == evt && event.fn != nil {
			func() {
				defer func() {
					if r := recover(); r != nil {
						// Prevent a panicking listener from crashing the emitter.
						eventsLog.Errorf("event listener panic recovered: %v\n%s", r, debug.Stack())
					}
				}()
				event.fn(data...)
			}()
		}
	}
}

func (e *emmiter) EventNames() []EventName {
	var names []EventName
	for _, l := range e.snapshot() {
		if !slices.Contains(names, l.evt) {
			names = append(names, l.evt)
		}
	}
	return names
}

func (e *emmiter) ListenerCount(evt EventName) int {
	n := 0
	for _, l := range e.snapshot() {
		if l.evt == evt && l.fn != nil {
			n++
		}
	}
	return n
}

func (e *emmiter) Listeners(evt EventName) []EventListener {
	var listeners []EventListener
	found := false
	for _, l := range e.snapshot() {
		if l.evt == evt {
			found = true
			if l.fn != nil {
				listeners = append(listeners, l.fn)
			}
		}
	}
	if found && listeners == nil {
		return []EventListener{}
	}
	return listeners
}

type oneTimeListener struct {
	fired sync.Once

	evt     EventName
	emitter *emmiter
	fn      EventListener
}

func (l *oneTimeListener) execute(vals ...any) {
	l.fired.Do(func() {
		// Remove before invoking so reentrant Emit cannot enter this sync.Once.
		l.emitter.RemoveListener(l.evt, l.fn)
		l.fn(vals...)
	})
}

func (e *emmiter) Once(evt EventName, listeners ...EventListener) error {
	if len(listeners) == 0 {
		return nil
	}

	var events []eventEntry
	for _, event := range listeners {
		if event != nil {
			oneTime := &oneTimeListener{evt: evt, emitter: e, fn: event}
			events = append(events, eventEntry{evt: evt, fn: oneTime.execute, ptr: reflect.ValueOf(event).Pointer()})
		}
	}
	return e.addListeners(events)
}

// RemoveListener removes the specified listener from the listener array for the event named eventName.
func (e *emmiter) RemoveListener(evt EventName, listener EventListener) bool {
	if listener == nil {
		return false
	}

	targetPtr := reflect.ValueOf(listener).Pointer()

	e.mu.Lock()
	defer e.mu.Unlock()
	i := slices.IndexFunc(e.entries, func(l eventEntry) bool { return l.evt == evt && l.fn != nil && l.ptr == targetPtr })
	if i < 0 {
		return false
	}
	entries := slices.Clone(e.entries)
	if e.count(evt) > 1 {
		e.entries = slices.Delete(entries, i, i+1)
	} else {
		entries[i] = eventEntry{evt: evt} // its last listener: the event stays, as a placeholder
		e.entries = entries
	}
	return true
}

// count is the number of entries of evt (listeners and placeholder). Call with e.mu held.
func (e *emmiter) count(evt EventName) int {
	n := 0
	for _, l := range e.entries {
		if l.evt == evt {
			n++
		}
	}
	return n
}

func (e *emmiter) RemoveAllListeners(evt EventName) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	isEvt := func(l eventEntry) bool { return l.evt == evt }
	if !slices.ContainsFunc(e.entries, isEvt) {
		return false
	}
	e.entries = slices.DeleteFunc(slices.Clone(e.entries), isEvt)
	return true
}

func (e *emmiter) Clear() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.entries = nil
}

func (e *emmiter) Len() int {
	return len(e.EventNames())
}
