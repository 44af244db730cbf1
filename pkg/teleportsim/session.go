package teleportsim

import (
	"encoding/base64"
	"fmt"
	"time"
)

// sessionRec is what a Log stores per interactive session; everything else about the session
// is drawn again from its random sequence (see planSession).
type sessionRec struct {
	start int64 // unix nanos of the session.start
	joins uint8 // number of session.join events (each with its session.leave)
	live  bool  // started by RunLive: short durations and no upper time bound
	// uploaded is set (under Log.mu) once a live session's session.upload is appended; a base
	// session is uploaded once its session.upload time has passed.
	uploaded bool
}

// sessionPlan is one session in full: who, where, when, and the layout of its recording.
type sessionPlan struct {
	sid, user, login, remote, size, url string
	srv                                 server
	start, end, upload                  int64 // unix nanos
	joiners                             []joiner
	uidStart, uidEnd, uidData, uidUp    string
	gaps                                []int // prints between consecutive fixed recording events
	tx, rx                              int64
}

// joiner is a participant who joins a session and leaves it before it ends.
type joiner struct {
	user, remote      string
	joinAt, leaveAt   int64
	joinUID, leaveUID string
	joinEI, leaveEI   int64
}

// planSession draws session n. The draws happen in a fixed order, so a plan is the same every
// time and the audit copies and the recording of a session agree.
func (l *Log) planSession(n int32) sessionPlan {
	return l.planSessionRec(n, l.session(n))
}

// planSessionRec is planSession for a caller that holds the session's record (and maybe l.mu).
func (l *Log) planSessionRec(n int32, rec sessionRec) sessionPlan {
	r := newRNG(l.opts.Seed, rngSession, uint64(n))
	p := sessionPlan{
		sid:    r.uuid(),
		user:   l.person(r),
		login:  l.login(r),
		srv:    pick(r, l.servers),
		remote: remoteAddr(r),
		size:   pick(r, []string{"80:24", "120:40", "238:61", "190:52"}),
		start:  rec.start,
	}
	p.url = "s3://teleport-recordings/sessions/" + p.sid + ".tar"
	p.uidStart, p.uidEnd, p.uidData, p.uidUp = r.uuid(), r.uuid(), r.uuid(), r.uuid()
	p.tx, p.rx = int64(r.between(512, 1<<20)), int64(r.between(512, 1<<22))

	// Durations in milliseconds: the session lasts d, its upload follows u later.
	var d, u int64
	if rec.live {
		d, u = int64(r.between(1000, 8000)), int64(r.between(200, 2000))
	} else {
		// 2 s .. 2.3 h, about log-uniform; integers only, so every platform draws the same.
		k := r.intn(12)
		d = 2000<<k + r.int64n(2000<<k)
		u = int64(r.between(500, 30000))
	}
	points := int64(2*int(rec.joins) + 1) // joins, leaves, end
	if !rec.live {
		// Fit into [start, To): the generator starts sessions at least minSessionRoom before To.
		avail := (l.opts.To.UnixNano()-rec.start)/int64(time.Millisecond) - 1
		if d+u > avail {
			d = avail * d / (d + u)
		}
		d = max(d, points)
		u = max(min(u, avail-d), 1)
	}
	// Fixed points: offsets in (0, d], one per segment of d/points, the end exactly at d.
	offs := make([]int64, points)
	for i := range points {
		lo, hi := d*i/points, d*(i+1)/points
		offs[i] = lo + 1 + r.int64n(hi-lo)
	}
	offs[points-1] = d
	ms := int64(time.Millisecond)
	p.end = p.start + d*ms
	p.upload = p.end + u*ms

	p.joiners = make([]joiner, rec.joins)
	for i := range p.joiners {
		p.joiners[i] = joiner{
			user:     l.person(r),
			remote:   remoteAddr(r),
			joinAt:   p.start + offs[i]*ms,
			leaveAt:  p.start + offs[int(rec.joins)+i]*ms,
			joinUID:  r.uuid(),
			leaveUID: r.uuid(),
		}
	}
	// Recording layout: start (ei 0), resize (ei 1), then for each gap its prints followed by the
	// fixed event that closes it (joins, leaves, end).
	p.gaps = make([]int, points)
	ei := int64(2)
	for g := range p.gaps {
		p.gaps[g] = r.between(0, 6)
		ei += int64(p.gaps[g])
		switch j := int(rec.joins); {
		case g < j:
			p.joiners[g].joinEI = ei
		case g < 2*j:
			p.joiners[g-j].leaveEI = ei
		}
		ei++
	}
	return p
}

// endEI returns the "ei" of the session.end event.
func (p *sessionPlan) endEI() int64 {
	ei := int64(2 + len(p.gaps) - 1)
	for _, g := range p.gaps {
		ei += int64(g)
	}
	return ei
}

// fixedAt returns the time of the fixed recording event that closes gap g.
func (p *sessionPlan) fixedAt(g int) int64 {
	j := len(p.joiners)
	switch {
	case g < j:
		return p.joiners[g].joinAt
	case g < 2*j:
		return p.joiners[g-j].leaveAt
	default:
		return p.end
	}
}

// renderSessionEvent renders one of the session events that are in the audit log; recordings
// hold byte-identical copies of session.start, session.join, session.leave and session.end.
func (l *Log) renderSessionEvent(p *sessionPlan, t evType, sub int, kind Kind) Event {
	var b builder
	switch t {
	case tSessionStart:
		b.head(l, t, codeSessionStart, p.uidStart, 0, p.start)
		b.human(p.user)
		b.str("login", p.login)
		b.sid(p.sid)
		b.str("private_key_policy", "none")
		b.node(p.srv)
		b.str("addr.local", p.srv.addr)
		b.str("addr.remote", p.remote)
		b.str("proto", "ssh")
		b.str("size", p.size)
		b.str("session_recording", "node")
	case tSessionJoin, tSessionLeave:
		j := p.joiners[sub]
		if t == tSessionJoin {
			b.head(l, t, codeSessionJoin, j.joinUID, j.joinEI, j.joinAt)
		} else {
			b.head(l, t, codeSessionLeave, j.leaveUID, j.leaveEI, j.leaveAt)
		}
		b.human(j.user)
		b.str("login", p.login)
		b.sid(p.sid)
		b.node(p.srv)
		b.str("addr.local", p.srv.addr)
		b.str("addr.remote", j.remote)
		b.str("proto", "ssh")
	case tSessionEnd:
		b.head(l, t, codeSessionEnd, p.uidEnd, p.endEI(), p.end)
		b.human(p.user)
		b.str("login", p.login)
		b.sid(p.sid)
		b.node(p.srv)
		b.str("addr.local", p.srv.addr)
		b.str("addr.remote", p.remote)
		b.str("proto", "ssh")
		b.bool("enhanced_recording", false)
		b.bool("interactive", true)
		parts := []string{p.user}
		for _, j := range p.joiners {
			parts = append(parts, j.user)
		}
		b.strs("participants", parts)
		b.time("session_start", time.Unix(0, p.start))
		b.time("session_stop", time.Unix(0, p.end))
		b.str("session_recording", "node")
	case tSessionData:
		b.head(l, t, codeSessionData, p.uidData, sessionDataIndex, p.end)
		b.human(p.user)
		b.str("login", p.login)
		b.sid(p.sid)
		b.node(p.srv)
		b.str("addr.local", p.srv.addr)
		b.str("addr.remote", p.remote)
		b.int("tx", p.tx)
		b.int("rx", p.rx)
	case tSessionUpload:
		b.head(l, t, codeSessionUpload, p.uidUp, sessionUploadIndex, p.upload)
		b.sid(p.sid)
		b.str("url", p.url)
	}
	return b.done(kind)
}

// recording yields the events of session n's recording whose index is >= from, in order:
// session.start, resize, then prints between the session.join, session.leave and session.end
// events. Print and resize events have no uid; the others repeat their audit copies exactly.
// Every event's SessionID is the session's, although a print's JSON has no "sid".
func (l *Log) recording(n int32, from int64, yield func(Event) error) error {
	p := l.planSession(n)
	r := newRNG(l.opts.Seed, rngSession, uint64(n)+1<<32) // print content
	emit := func(ev Event) error {
		if ev.Index < from {
			return nil
		}
		return yield(ev)
	}
	if err := emit(l.renderSessionEvent(&p, tSessionStart, 0, KindSession)); err != nil {
		return err
	}
	var rb builder
	rb.head(l, tResize, codeTerminalResize, "", 1, p.start)
	rb.human(p.user)
	rb.str("login", p.login)
	rb.sid(p.sid)
	rb.node(p.srv)
	rb.str("size", p.size)
	if err := emit(rb.done(KindSession)); err != nil {
		return err
	}
	ei, ci, offset := int64(2), int64(0), int64(0)
	prev := p.start
	for g, k := range p.gaps {
		next := p.fixedAt(g)
		for i := range k {
			at := prev + (next-prev)*int64(i+1)/int64(k+1)
			at -= (at - p.start) % int64(time.Millisecond)
			data := l.terminalOutput(r)
			if ei >= from {
				var b builder
				b.head(l, tPrint, "", "", ei, at)
				b.int("ci", ci)
				b.int("bytes", int64(len(data)))
				b.int("ms", (at-p.start)/int64(time.Millisecond))
				b.int("offset", offset)
				b.str("data", base64.StdEncoding.EncodeToString(data))
				b.ev.SessionID = p.sid // as Teleport's, a print event's JSON has no sid
				if err := yield(b.done(KindSession)); err != nil {
					return err
				}
			}
			ei, ci, offset = ei+1, ci+1, offset+int64(len(data))
		}
		var ev Event
		j := len(p.joiners)
		switch {
		case g < j:
			ev = l.renderSessionEvent(&p, tSessionJoin, g, KindSession)
		case g < 2*j:
			ev = l.renderSessionEvent(&p, tSessionLeave, g-j, KindSession)
		default:
			ev = l.renderSessionEvent(&p, tSessionEnd, 0, KindSession)
		}
		if err := emit(ev); err != nil {
			return err
		}
		ei++
		prev = next
	}
	return nil
}

// terminalOutput draws the bytes of one print event: a few lines of shell output.
func (l *Log) terminalOutput(r *rng) []byte {
	out := r.text(nil, r.between(8, 200))
	if l.opts.Unicode && r.chance(0.2) {
		out = append(out, " ✓ готово 🎉"...)
	}
	return append(out, '\r', '\n')
}

// SessionEvents yields the recording of session sid, as StreamUnstructuredSessionEvents does:
// its events with index >= startIndex, in order. It returns ErrNotFound when the session does
// not exist, when its session.upload has not happened yet, or, with Options.RecordingDelay, until
// the delay has passed since the first request for the session; ErrBadRequest for a negative
// startIndex; otherwise the first error yield returns, or nil. Safe for concurrent use.
func (l *Log) SessionEvents(sid string, startIndex int64, yield func(Event) error) error {
	if startIndex < 0 {
		return fmt.Errorf("%w: negative start index %d", ErrBadRequest, startIndex)
	}
	n, ok := l.lookupSession(sid)
	if !ok {
		return fmt.Errorf("%w: session %q", ErrNotFound, sid)
	}
	now := l.opts.Now().UnixNano()
	if l.recordingDelayed(n) {
		l.recMu.Lock()
		first, seen := l.recFirst[n]
		if !seen {
			first = now
			l.recFirst[n] = now
		}
		l.recMu.Unlock()
		if now < addSat(first, int64(l.opts.RecordingDelay)) {
			return fmt.Errorf("%w: recording of session %q is not available yet", ErrNotFound, sid)
		}
	}
	if !l.uploaded(n, now) {
		return fmt.Errorf("%w: session %q is not uploaded yet", ErrNotFound, sid)
	}
	return l.recording(n, startIndex, yield)
}

// recordingDelayed reports whether Options.RecordingDelay applies to session n.
func (l *Log) recordingDelayed(n int32) bool {
	if l.opts.RecordingDelay <= 0 {
		return false
	}
	f := l.opts.RecordingDelayFraction
	return f == 0 || float64(splitmix(uint64(l.opts.Seed)^uint64(n)<<20)>>11)/(1<<53) < f
}

// uploaded reports whether session n's recording has been uploaded by now.
func (l *Log) uploaded(n int32, now int64) bool {
	if int(n) < len(l.sessions) {
		p := l.planSession(n)
		return p.upload <= now
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.liveSessions[int(n)-len(l.sessions)].uploaded
}

// lookupSession returns the number of the session with that id.
func (l *Log) lookupSession(sid string) (int32, bool) {
	if n, ok := l.sids[sid]; ok {
		return n, true
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	n, ok := l.liveSids[sid]
	return n, ok
}

// session returns the stored record of session n (base or live).
func (l *Log) session(n int32) sessionRec {
	if int(n) < len(l.sessions) {
		return l.sessions[n]
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.liveSessions[int(n)-len(l.sessions)]
}

// burstPlan is a burst of failed logins of one user and login from one address, seconds apart,
// as a password-guessing client produces: what a lock on failed logins must catch.
type burstPlan struct {
	user, login, remote, agent string
	at                         []int64
	uids                       []string
}

// planBurst draws burst n of the base log.
func (l *Log) planBurst(n int32) burstPlan {
	r := newRNG(l.opts.Seed, rngBurst, uint64(n))
	targets := [][2]string{{"mallory", "root"}, {"alice", "root"}, {"svc-deploy", "deploy"}}
	if l.opts.Unicode {
		targets = append(targets, [2]string{"józef.kowalski", "root"})
	}
	tg := pick(r, targets)
	p := burstPlan{user: tg[0], login: tg[1], remote: remoteAddr(r), agent: pick(r, userAgents)}
	size := r.between(5, 8)
	spanMs := l.opts.To.Sub(l.opts.From).Milliseconds()
	step := min(int64(r.between(1000, 10000)), spanMs/int64(size+1))
	start := l.opts.From.UnixNano() + r.int64n(spanMs-step*int64(size))*int64(time.Millisecond)
	for i := range size {
		p.at = append(p.at, start+int64(i)*step*int64(time.Millisecond))
		p.uids = append(p.uids, r.uuid())
	}
	return p
}

// renderBurstEvent renders failed login i of burst n.
func (l *Log) renderBurstEvent(n int32, i int) Event {
	p := l.planBurst(n)
	var b builder
	b.head(l, tUserLogin, codeUserLocalLoginFailure, p.uids[i], 0, p.at[i])
	b.str("user", p.user)
	b.str("login", p.login)
	b.str("method", "local")
	b.bool("success", false)
	b.str("error", "invalid username, password or second factor")
	b.str("user_agent", p.agent)
	b.str("addr.remote", p.remote)
	return b.done(KindAudit)
}
