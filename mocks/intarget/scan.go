package intarget

import (
	"strconv"
	"time"

	"github.com/brianvoe/gofakeit/v6"

	"github.com/provider-sandbox/provider-sandbox/mocks/intarget/contract"
)

// query is one window to answer.
type query struct {
	from, to time.Time
	// vis is the latest change time that is visible (the clock, minus the
	// late-rows delay when that fault is on).
	vis    time.Time
	closed bool
	ts     func(time.Time) string // renders a timestamp (faults may change it)
}

func (q *query) in(t time.Time) bool {
	return !t.Before(q.from) && (t.Before(q.to) || q.closed && t.Equal(q.to))
}

// latest returns the index of the last visible change, or -1.
func (q *query) latest(ts []time.Time) int {
	k := -1
	for i, t := range ts {
		if t.After(q.vis) {
			break
		}
		k = i
	}
	return k
}

// shown returns the index of the change a window shows (the latest visible
// one, when it falls in the window), or -1 when the entity is not in it.
func (q *query) shown(ts []time.Time) int {
	k := q.latest(ts)
	if k < 0 || !q.in(ts[k]) {
		return -1
	}
	return k
}

func (q *query) opt(t time.Time, ok bool) string {
	if !ok {
		return ""
	}
	return q.ts(t)
}

func boolCell(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// emitFunc receives a row in the entity's column order, the version shown
// and its cursor. It returns false to stop (the client went away).
type emitFunc func(vals []string, version int, cursor time.Time) bool

// scan produces the rows of one entity for a window, bucket by bucket.
func (w *world) scan(ent *contract.Entity, q *query, emit emitFunc) {
	var f *gofakeit.Faker
	vals := make([]string, len(ent.Fields))
	c := w.cfg
	actors := c.PlayersPerHour > 0
	switch ent.Name {
	case contract.Users, contract.Contacts, contract.Wallets:
		span := map[string]time.Duration{contract.Users: spanUser, contract.Contacts: spanContact, contract.Wallets: spanWallet}[ent.Name]
		b0, b1 := w.buckets(q.from, q.to, q.vis, span)
		for b := b0; b <= b1; b++ {
			for i := 0; i < c.PlayersPerHour; i++ {
				f = w.faker(f, streamPlayers, b, i)
				p := w.player(f, b, i)
				if !w.emitPlayer(f, ent.Name, &p, q, vals, emit) {
					return
				}
			}
		}
	case contract.Transactions:
		b0, b1 := w.buckets(q.from, q.to, q.vis, spanTx)
		for b := max(b0, 1); b <= b1 && actors; b++ {
			for i := 0; i < c.TransactionsPerHour; i++ {
				f = w.faker(f, streamTransactions, b, i)
				t := w.transaction(f, b, i)
				k := q.shown(t.times)
				if k < 0 {
					continue
				}
				w.fillTransaction(f, b, &t)
				copy(vals, []string{itoa(t.id), itoa(t.player), t.amount, t.cur, t.typ, t.status(k), t.ps, t.dir,
					q.ts(t.times[0]), q.ts(t.times[k]), t.invoice, itoa(t.player*10 + 1), t.ua, t.ip, t.req, t.cmt})
				if !emit(vals, k, t.times[k]) {
					return
				}
			}
		}
	case contract.Logins:
		b0, b1 := w.buckets(q.from, q.to, q.vis, 0)
		for b := max(b0, 1); b <= b1 && actors; b++ {
			for i := 0; i < c.LoginsPerHour; i++ {
				f = w.faker(f, streamLogins, b, i)
				l := w.login(f, b, i)
				if l.at.After(q.vis) || !q.in(l.at) {
					continue
				}
				w.fillLogin(f, b, &l)
				copy(vals, []string{itoa(l.id), itoa(l.player), l.ip, q.ts(l.at), l.ref, l.traffic, l.ua, l.host, boolCell(l.ok), l.failWhy})
				if !emit(vals, 0, l.at) {
					return
				}
			}
		}
	case contract.GameSessions:
		var s session
		b0, b1 := w.buckets(q.from, q.to, q.vis, spanSession)
		for b := max(b0, 1); b <= b1 && actors; b++ {
			for i := 0; i < c.GameSessionsPerHour; i++ {
				f = w.faker(f, streamSessions, b, i)
				w.session(f, b, i, &s)
				if !w.emitSession(f, b, &s, q, vals, emit) {
					return
				}
			}
		}
	case contract.Tournaments:
		every := int64(c.TournamentEveryHours)
		b0, b1 := w.buckets(q.from, q.to, q.vis, 0)
		for b := (b0 + every - 1) / every * every; b <= b1; b += every {
			f = w.faker(f, streamTournaments, b, 0)
			t := w.tournament(f, b)
			if t.at.After(q.vis) || !q.in(t.at) {
				continue
			}
			copy(vals, []string{itoa(t.id), t.name, t.sportID, t.sport, t.country, q.ts(t.startAt), q.ts(t.endAt), q.ts(t.at)})
			if !emit(vals, 0, t.at) {
				return
			}
		}
	case contract.Events:
		b0, b1 := w.buckets(q.from, q.to, q.vis, spanEvent)
		for b := max(b0, 1); b <= b1; b++ {
			for i := 0; i < c.EventsPerHour; i++ {
				f = w.faker(f, streamEvents, b, i)
				e := w.event(f, b, i)
				k := q.shown(e.times)
				if k < 0 {
					continue
				}
				w.fillEvent(f, b, &e)
				copy(vals, []string{itoa(e.id), itoa(e.tournament), e.title, eventStatuses[k], q.ts(e.times[1]),
					q.opt(e.times[2], k == 2), e.typ, q.ts(e.times[k])})
				if !emit(vals, k, e.times[k]) {
					return
				}
			}
		}
	case contract.Bets, contract.BetSelections:
		b0, b1 := w.buckets(q.from, q.to, q.vis, spanBet)
		// bets start in bucket 2: they pick events of earlier buckets, and
		// events start in bucket 1
		for b := max(b0, 2); b <= b1 && actors && c.EventsPerHour > 0; b++ {
			for i := 0; i < c.BetsPerHour; i++ {
				f = w.faker(f, streamBets, b, i)
				bt := w.bet(f, b, i)
				k := q.shown(bt.times)
				if k < 0 {
					continue
				}
				w.fillBet(f, b, &bt)
				if ent.Name == contract.Bets {
					status, win := "open", ""
					if k == 1 {
						status, win = "lost", "0.00"
						if bt.won {
							status, win = "won", bt.win
						}
					}
					copy(vals, []string{itoa(bt.id), itoa(bt.player), status, bt.typ, bt.stake, win, bt.cur, bt.kind,
						q.ts(bt.times[0]), bt.ua, q.ts(bt.times[k])})
					if !emit(vals, k, bt.times[k]) {
						return
					}
					continue
				}
				for _, s := range bt.sels {
					status := "open"
					if k == 1 {
						status = map[bool]string{true: "won", false: "lost"}[s.won]
					}
					copy(vals, []string{itoa(s.id), itoa(bt.id), itoa(s.event), s.ratio, status, s.market,
						q.ts(bt.times[0]), q.ts(bt.times[k])})
					if !emit(vals, k, bt.times[k]) {
						return
					}
				}
			}
		}
	}
}

func (w *world) emitPlayer(f *gofakeit.Faker, name string, p *player, q *query, vals []string, emit emitFunc) bool {
	switch name {
	case contract.Users:
		k := q.shown(p.userTimes)
		if k < 0 {
			return true
		}
		w.details(f, p)
		copy(vals, []string{itoa(p.id), p.first, p.last, p.gender, p.country, p.city, p.ip, p.bday,
			q.ts(p.userTimes[0]), p.ref, p.traffic, p.ua, q.ts(p.userTimes[k]), boolCell(p.blocked && k > 0),
			boolCell(p.selfExcluded && k > 0), p.locale, strconv.Itoa(k), p.bonus, p.fav, p.kyc})
		return emit(vals, k, p.userTimes[k])
	case contract.Contacts:
		k := q.shown(p.contactTimes)
		if k < 0 {
			return true
		}
		w.details(f, p)
		confirmed := len(p.contactTimes) > 1 && k >= 1
		at := p.contactTimes[min(1, len(p.contactTimes)-1)]
		copy(vals, []string{itoa(p.id), p.email, q.opt(at, confirmed), boolCell(confirmed), p.phone, boolCell(!p.selfExcluded),
			q.opt(at, confirmed && p.phoneConfirmed), p.push, q.ts(p.contactTimes[0]), q.ts(p.contactTimes[k])})
		return emit(vals, k, p.contactTimes[k])
	default:
		for _, wl := range p.wallets {
			k := q.shown(wl.times)
			if k < 0 {
				continue
			}
			copy(vals, []string{itoa(wl.id), itoa(p.id), wl.typ, cents(wl.balances[k]), wl.cur, q.ts(wl.times[0]), q.ts(wl.times[k])})
			if !emit(vals, k, wl.times[k]) {
				return false
			}
		}
		return true
	}
}

// emitSession applies InTarget's game-session rule: a session is in the
// window when any of its actions is; its row aggregates all of its actions
// that exist at the pull moment (later ones do not exist yet).
func (w *world) emitSession(f *gofakeit.Faker, b int64, s *session, q *query, vals []string, emit emitFunc) bool {
	hit := false
	var bets, wins, betSum, winSum int64
	var first, last time.Time
	n := 0
	for _, a := range s.actions {
		if a.at.After(q.vis) {
			break
		}
		if q.in(a.at) {
			hit = true
		}
		if n == 0 {
			first = a.at
		}
		last = a.at
		n++
		if a.win {
			wins++
			winSum += a.amount
		} else {
			bets++
			betSum += a.amount
		}
	}
	if !hit {
		return true
	}
	w.fillSession(f, b, s)
	copy(vals, []string{itoa(s.player), itoa(s.id), s.code, s.name, s.cur, itoa(bets), itoa(wins), cents(betSum), cents(winSum),
		q.ts(first), q.ts(last), s.vendor, s.bal, s.ip, s.ua, s.ref})
	return emit(vals, n-1, last)
}

func cents(c int64) string {
	return strconv.FormatInt(c/100, 10) + "." + strconv.FormatInt(c%100/10, 10) + strconv.FormatInt(c%10, 10)
}
