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

	eventEntry struct {
		fn  EventListener
		ptr uintptr
	}

	// iohub patch: one mutex and a small slice of per-event, copy-on-write listener lists
	// instead of a sync.Map-style Map of locked Slices. Every connection carries several
	// emitters (engine socket, transport, websocket, Socket.IO client and socket) with a
	// handful of events each, so their maps, entries and slice headers were a large part of
	// an idle connection's heap; a linear scan of a few events is also cheaper than hashing,
	// and Emit no longer copies the listener list on every call.
	emmiter struct {
		mu           sync.RWMutex
		evtListeners []eventListeners
	}

	// eventListeners are the listeners of one event. fns is never modified in place: a
	// change stores a new slice, so Emit can call a snapshot without holding the lock.
	eventListeners struct {
		evt EventName
		fns []eventEntry
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

func (e *emmiter) addListeners(evt EventName, listeners []eventEntry) error {
	if len(listeners) == 0 {
		return nil
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	i := e.indexLocked(evt)
	if i < 0 {
		e.evtListeners = append(e.evtListeners, eventListeners{evt: evt})
		i = len(e.evtListeners) - 1
	}
	old := e.evtListeners[i].fns
	merged := make([]eventEntry, 0, len(old)+len(listeners))
	e.evtListeners[i].fns = append(append(merged, old...), listeners...)
	return nil
}

// indexLocked is the position of evt in e.evtListeners, -1 when it has none. Call with e.mu
// held.
func (e *emmiter) indexLocked(evt EventName) int {
	for i := range e.evtListeners {
		if e.evtListeners[i].evt == evt {
			return i
		}
	}
	return -1
}

// listeners returns the current (immutable) listener slice of evt.
func (e *emmiter) listeners(evt EventName) ([]eventEntry, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if i := e.indexLocked(evt); i >= 0 {
		return e.evtListeners[i].fns, true
	}
	return nil, false
}

func (e *emmiter) AddListener(evt EventName, listeners ...EventListener) error {
	if len(listeners) == 0 {
		return nil
	}

	var events []eventEntry
	for _, event := range listeners {
		if event != nil {
			events = append(events, eventEntry{fn: event, ptr: reflect.ValueOf(event).Pointer()})
		}
	}

	return e.addListeners(evt, events)
}

// Alias: [AddListener]
func (e *emmiter) On(evt EventName, listeners ...EventListener) error {
	return e.AddListener(evt, listeners...)
}

func (e *emmiter) Emit(evt EventName, data ...any) {
	evtEntry, _ := e.listeners(evt)
	for _, event := range evtEntry {
		if event.fn != nil {
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
	e.mu.RLock()
	defer e.mu.RUnlock()
	names := make([]EventName, 0, len(e.evtListeners))
	for _, l := range e.evtListeners {
		names = append(names, l.evt)
	}
	return names
}

func (e *emmiter) ListenerCount(evt EventName) int {
	evtEntry, _ := e.listeners(evt)
	return len(evtEntry)
}

func (e *emmiter) Listeners(evt EventName) []EventListener {
	datas, ok := e.listeners(evt)
	if !ok {
		return nil
	}

	listeners := make([]EventListener, len(datas))
	for i, l := range datas {
		listeners[i] = l.fn
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
			events = append(events, eventEntry{fn: oneTime.execute, ptr: reflect.ValueOf(event).Pointer()})
		}
	}
	return e.addListeners(evt, events)
}

// RemoveListener removes the specified listener from the listener array for the event named eventName.
func (e *emmiter) RemoveListener(evt EventName, listener EventListener) bool {
	if listener == nil {
		return false
	}

	targetPtr := reflect.ValueOf(listener).Pointer()

	e.mu.Lock()
	defer e.mu.Unlock()
	i := e.indexLocked(evt)
	if i < 0 {
		return false
	}
	fns := e.evtListeners[i].fns
	for j, l := range fns {
		if l.ptr == targetPtr {
			rest := make([]eventEntry, 0, len(fns)-1)
			e.evtListeners[i].fns = append(append(rest, fns[:j]...), fns[j+1:]...)
			return true
		}
	}
	return false
}

func (e *emmiter) RemoveAllListeners(evt EventName) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	i := e.indexLocked(evt)
	if i < 0 {
		return false
	}
	e.evtListeners = slices.Delete(e.evtListeners, i, i+1)
	return true
}

func (e *emmiter) Clear() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.evtListeners = nil
}

func (e *emmiter) Len() int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return len(e.evtListeners)
}
