package stats

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

// clockTick is USER_HZ, the unit of /proc/<pid>/stat CPU times (100 on Linux).
const clockTick = 10 * time.Millisecond

// RSS returns the resident set size of process pid (VmRSS in /proc/<pid>/status), in bytes.
func RSS(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read status of pid %d: %w", pid, err)
	}
	for line := range bytes.Lines(data) {
		rest, ok := bytes.CutPrefix(line, []byte("VmRSS:"))
		if !ok {
			continue
		}
		fields := bytes.Fields(rest)
		if len(fields) != 2 || string(fields[1]) != "kB" {
			return 0, fmt.Errorf("pid %d: unexpected VmRSS line %q", pid, line)
		}
		kb, err := strconv.ParseInt(string(fields[0]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("pid %d: parse VmRSS: %w", pid, err)
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("pid %d: no VmRSS in status", pid)
}

// CPUTime returns the user+system CPU time process pid has used (/proc/<pid>/stat).
func CPUTime(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read stat of pid %d: %w", pid, err)
	}
	// The command name (field 2) may hold spaces; fields after its closing paren are fixed.
	end := bytes.LastIndexByte(data, ')')
	if end < 0 {
		return 0, fmt.Errorf("pid %d: malformed stat", pid)
	}
	fields := bytes.Fields(data[end+1:])
	// fields[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(fields) < 13 {
		return 0, fmt.Errorf("pid %d: short stat", pid)
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(string(f), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("pid %d: parse CPU time: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
}

// SelfCPUTime returns the user+system CPU time this process has used.
func SelfCPUTime() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// CPUMeter measures the CPU time that a server process and this process use over a span of
// wall-clock time.
type CPUMeter struct {
	pid                int
	wall               time.Time
	server, self       time.Duration
	serverErr, selfErr error
}

// CPUUsage is what a CPUMeter measured. Server is zero when no server pid was given.
type CPUUsage struct {
	Wall, Server, Self time.Duration
}

// StartCPU starts measuring; pid 0 measures this process only.
func StartCPU(pid int) *CPUMeter {
	m := &CPUMeter{pid: pid, wall: time.Now()}
	m.self, m.selfErr = SelfCPUTime()
	if pid > 0 {
		m.server, m.serverErr = CPUTime(pid)
	}
	return m
}

// Stop returns the CPU time used since StartCPU.
func (m *CPUMeter) Stop() (CPUUsage, error) {
	u := CPUUsage{Wall: time.Since(m.wall)}
	self, err := SelfCPUTime()
	if err = errors.Join(m.selfErr, err); err != nil {
		return u, err
	}
	u.Self = self - m.self
	if m.pid > 0 {
		server, err := CPUTime(m.pid)
		if err = errors.Join(m.serverErr, err); err != nil {
			return u, err
		}
		u.Server = server - m.server
	}
	return u, nil
}
