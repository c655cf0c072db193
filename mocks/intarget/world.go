package intarget

import (
	"fmt"
	"math/rand"
	"strconv"
	"time"

	"github.com/brianvoe/gofakeit/v6"

	"github.com/provider-sandbox/provider-sandbox/mocks/intarget/contract"
)

// The world is never stored: every row is recomputed from the seed and the
// hour ("bucket") it was created in. An entity created in bucket b gets the
// id b*maxPerHour+i+1 and a short list of change times; a window is answered
// by regenerating the buckets that can hold a change inside it, one bucket at
// a time, so memory stays flat however many rows a window holds.

const bucketLen = time.Hour

// Generation streams: each seeds its own random source per bucket.
const (
	streamPlayers = iota + 1
	streamLogins
	streamTransactions
	streamSessions
	streamTournaments
	streamEvents
	streamBets
)

// world is the deterministic data of one namespace.
type world struct {
	seed  int64
	start time.Time // start of bucket 0
	cfg   WorldConfig
}

// newWorld places the world's first hour: world.days before the clock, else
// world.start, else DefaultWorldStart. Generation is per hour and on demand,
// so an early start costs nothing: a window only regenerates the hours that
// can hold a change inside it.
func newWorld(seed int64, cfg WorldConfig, now time.Time) *world {
	var start time.Time
	switch {
	case cfg.Days > 0:
		start = now.UTC().Truncate(bucketLen).Add(-time.Duration(cfg.Days) * 24 * time.Hour)
	case cfg.Start != "":
		start, _ = time.Parse(time.RFC3339, cfg.Start) // validated with the scenario
	default:
		start, _ = time.Parse(time.RFC3339, DefaultWorldStart)
	}
	return &world{seed: seed, start: start.UTC().Truncate(bucketLen), cfg: cfg}
}

// splitmix is a tiny random source whose reseeding costs nothing, so every
// entity can have its own seed and a window only generates what it shows.
type splitmix struct{ s uint64 }

func (m *splitmix) Seed(seed int64) { m.s = uint64(seed) }
func (m *splitmix) Uint64() uint64 {
	m.s += 0x9E3779B97F4A7C15
	z := m.s
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return z ^ z>>31
}
func (m *splitmix) Int63() int64 { return int64(m.Uint64() >> 1) }

// faker returns a generator seeded for entity i of a stream's bucket b: the
// same seed, stream, bucket and index always give the same entity.
func (w *world) faker(f *gofakeit.Faker, stream int, b int64, i int) *gofakeit.Faker {
	x := uint64(w.seed)*0x9E3779B97F4A7C15 ^ uint64(stream)*0xBF58476D1CE4E5B9 ^ uint64(b)*0x94D049BB133111EB ^ uint64(i)*0xD6E8FEB86659FD93
	if f == nil {
		f = gofakeit.NewCustom(&splitmix{})
	}
	f.Rand.Seed(int64(x))
	return f
}

// bucketStart and buckets count hours in Unix seconds, not time.Duration:
// a Duration saturates at about 292 years, so an instant that far from the
// start (a clock set centuries ahead) would land every window in one wrong
// bucket and answer header-only feeds.
func (w *world) bucketStart(b int64) time.Time {
	return time.Unix(w.start.Unix()+b*bucketSecs, 0).UTC()
}

const bucketSecs = int64(bucketLen / time.Second)

// bucketOf returns the bucket holding t (floor division: an instant before
// the start gets a negative bucket).
func (w *world) bucketOf(t time.Time) int64 {
	d := t.Unix() - w.start.Unix()
	b := d / bucketSecs
	if d%bucketSecs < 0 {
		b--
	}
	return b
}

// buckets returns the bucket range whose entities may have a change in
// [from, to] given that changes happen at most span after creation, capped
// at the bucket holding limit (nothing is created after it).
func (w *world) buckets(from, to, limit time.Time, span time.Duration) (int64, int64) {
	if to.After(limit) {
		to = limit
	}
	if to.Before(w.start) {
		return 0, -1
	}
	first := max(w.bucketOf(from.Add(-span)), 0)
	return first, w.bucketOf(to)
}

// at returns a time inside bucket b.
func (w *world) at(r *rand.Rand, b int64) time.Time {
	return w.bucketStart(b).Add(time.Duration(r.Int63n(int64(bucketLen/time.Second))) * time.Second)
}

// later returns sorted change times after t0, n of them, within span.
func later(r *rand.Rand, t0 time.Time, n int, span time.Duration) []time.Time {
	ts := []time.Time{t0}
	for i := 0; i < n; i++ {
		rest := t0.Add(span).Sub(ts[len(ts)-1]) / time.Second
		if rest < 2 {
			break
		}
		ts = append(ts, ts[len(ts)-1].Add(time.Duration(1+r.Int63n(int64(rest)/int64(n-i)))*time.Second))
	}
	return ts
}

// pickPlayer returns a player registered in an earlier bucket (at most three days back).
func (w *world) pickPlayer(r *rand.Rand, b int64) int64 {
	back := b
	if back > 72 {
		back = 72
	}
	pb := b - 1 - r.Int63n(back)
	return id(pb, r.Intn(w.cfg.PlayersPerHour))
}

func id(b int64, i int) int64 { return b*maxPerHour + int64(i) + 1 }

func money(r *rand.Rand, max int) string { return cents(moneyCents(r, max)) }

// moneyCents draws what money formats; wallets keep the number and format
// only the balance a row shows (most generated wallets are in no window).
func moneyCents(r *rand.Rand, max int) int64 { return int64(100 + r.Intn(max*100)) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

var (
	currencies     = []string{"EUR", "USD", "AUD", "CAD", "GBP"}
	paymentSystems = []string{"Visa", "Mastercard", "Skrill", "Neteller", "PayPal", "Trustly"}
	trafficSources = []string{"google", "facebook", "affiliate", "direct", "newsletter"}
	locales        = []string{"en_US", "en_GB", "de_DE", "es", "fr_FR", "pt_BR"}
	hosts          = []string{"space-vegas.test", "m.space-vegas.test", "mirror1.space-vegas.test"}
	failReasons    = []string{"Wrong password", "Account blocked", "Too many attempts"}
	vendors        = []string{"NetEnt", "Pragmatic Play", "Play'n GO", "Evolution", "Quickspin"}
	sports         = []string{"Football", "Tennis", "Basketball", "Ice Hockey", "Volleyball"}
	markets        = []string{"1X2", "Total over 2.5", "Both teams to score", "Handicap -1.5", "Correct score"}
	txComments     = []string{"", "", "bonus, \"welcome\" offer", "manual review\r\nby support", "refund; duplicate charge"}
)

// spans: the longest time between an entity's creation and its last change.
const (
	spanUser    = 72 * time.Hour
	spanContact = 48 * time.Hour
	spanWallet  = 72 * time.Hour
	spanTx      = 3 * time.Hour
	spanSession = 3 * time.Hour
	spanEvent   = 27 * time.Hour
	spanBet     = 25 * time.Hour
)

// player is everything generated for one registration.
type player struct {
	id                                           int64
	userTimes, contactTimes                      []time.Time
	first, last, gender, country, city, ip, bday string
	ref, traffic, ua, locale, fav, kyc, email    string
	phone, push, bonus                           string
	blocked, selfExcluded, phoneConfirmed        bool
	wallets                                      []wallet
}

type wallet struct {
	id       int64
	typ, cur string
	times    []time.Time
	balances []int64 // cents
}

func (w *world) player(f *gofakeit.Faker, b int64, i int) player {
	r := f.Rand
	p := player{id: id(b, i)}
	reg := w.at(r, b)
	p.userTimes = later(r, reg, r.Intn(3), spanUser)
	p.contactTimes = later(r, reg, r.Intn(2), spanContact)
	cur := currencies[r.Intn(len(currencies))]
	for k := 0; k < 1+r.Intn(2); k++ {
		wl := wallet{id: p.id*10 + int64(k) + 1, typ: contract.BalanceTypes[k], cur: cur}
		wl.times = later(r, reg, r.Intn(4), spanWallet)
		for range wl.times {
			wl.balances = append(wl.balances, moneyCents(r, 500))
		}
		wl.balances[0] = 0
		p.wallets = append(p.wallets, wl)
	}
	return p
}

// details fills what only the users and contacts feeds show; it continues
// the entity's random sequence, so it is only called for rows written.
func (w *world) details(f *gofakeit.Faker, p *player) {
	r := f.Rand
	reg := p.userTimes[0]
	p.first, p.last, p.gender = f.FirstName(), f.LastName(), f.Gender()
	p.country, p.city, p.ip = f.CountryAbr(), f.City(), f.IPv4Address()
	p.bday = reg.AddDate(-18-r.Intn(50), -r.Intn(12), -r.Intn(28)).Format(contract.DateLayout)
	p.ref = "ref-" + strconv.Itoa(1000+r.Intn(9000))
	p.traffic, p.ua, p.locale = trafficSources[r.Intn(len(trafficSources))], f.UserAgent(), locales[r.Intn(len(locales))]
	p.fav = f.Word() + ", " + f.Word()
	p.kyc = reg.AddDate(0, 0, r.Intn(3)).Format(contract.DateLayout)
	p.email, p.phone = f.Email(), f.Phone()
	if r.Intn(2) == 0 {
		p.push = fmt.Sprintf("%x", r.Uint64())
	}
	p.bonus = money(r, 50)
	p.blocked, p.selfExcluded = r.Intn(20) == 0, r.Intn(15) == 0
	p.phoneConfirmed = r.Intn(2) == 0 // drawn last: earlier values stay as they were
}

type transaction struct {
	id, player                                           int64
	amount, cur, typ, dir, ps, invoice, ua, ip, req, cmt string
	times                                                []time.Time // New, Process, final
	final                                                string
}

func (w *world) transaction(f *gofakeit.Faker, b int64, i int) transaction {
	r := f.Rand
	t := transaction{id: id(b, i)}
	t.times = later(r, w.at(r, b), 2, 2*time.Hour)
	return t
}

func (w *world) fillTransaction(f *gofakeit.Faker, b int64, t *transaction) {
	r := f.Rand
	t.player = w.pickPlayer(r, b)
	t.amount, t.cur = money(r, 300), currencies[r.Intn(len(currencies))]
	t.typ = contract.TxTypes[r.Intn(len(contract.TxTypes))]
	t.dir = contract.Dirs[r.Intn(2)]
	t.ps = paymentSystems[r.Intn(len(paymentSystems))]
	t.invoice = fmt.Sprintf("INV-%d", t.id)
	t.ua, t.ip = f.UserAgent(), f.IPv4Address()
	cc := f.CreditCardNumber(nil)
	t.req = cc[:4] + "********" + cc[len(cc)-4:]
	t.cmt = txComments[r.Intn(len(txComments))]
	t.final = "Success"
	if r.Intn(6) == 0 {
		t.final = "Fail"
	}
}

// status is the transaction's status at version k.
func (t *transaction) status(k int) string {
	if k == len(t.times)-1 && k > 0 {
		return t.final
	}
	return contract.TxStatuses[k]
}

type login struct {
	id, player                          int64
	at                                  time.Time
	ip, ref, traffic, ua, host, failWhy string
	ok                                  bool
}

func (w *world) login(f *gofakeit.Faker, b int64, i int) login {
	r := f.Rand
	return login{id: id(b, i), at: w.at(r, b)}
}

func (w *world) fillLogin(f *gofakeit.Faker, b int64, l *login) {
	r := f.Rand
	l.player = w.pickPlayer(r, b)
	l.ip, l.ua = f.IPv4Address(), f.UserAgent()
	l.ref, l.traffic = "ref-"+strconv.Itoa(1000+r.Intn(9000)), trafficSources[r.Intn(len(trafficSources))]
	l.host = hosts[r.Intn(len(hosts))]
	l.ok = r.Intn(8) != 0
	if !l.ok {
		l.failWhy = failReasons[r.Intn(len(failReasons))]
	}
}

type action struct {
	at     time.Time
	win    bool
	amount int64 // cents
}

type session struct {
	id, player                                int64
	code, name, vendor, cur, bal, ip, ua, ref string
	actions                                   []action
}

func (w *world) session(f *gofakeit.Faker, b int64, i int, s *session) {
	r := f.Rand
	s.id = id(b, i)
	s.actions = s.actions[:0]
	t := w.at(r, b)
	for n := 1 + r.Intn(12); n > 0; n-- {
		s.actions = append(s.actions, action{at: t, amount: int64(10 + r.Intn(2000))})
		if r.Intn(3) == 0 {
			t = t.Add(time.Duration(1+r.Intn(20)) * time.Second)
			s.actions = append(s.actions, action{at: t, win: true, amount: int64(10 + r.Intn(5000))})
		}
		t = t.Add(time.Duration(1+r.Intn(900)) * time.Second)
	}
}

func (w *world) fillSession(f *gofakeit.Faker, b int64, s *session) {
	r := f.Rand
	s.player = w.pickPlayer(r, b)
	s.vendor = vendors[r.Intn(len(vendors))]
	s.name = f.Adjective() + " " + f.Noun()
	s.code = fmt.Sprintf("g%04d", r.Intn(10000))
	s.cur, s.bal = currencies[r.Intn(len(currencies))], contract.BalanceTypes[r.Intn(3)]
	s.ip, s.ua, s.ref = f.IPv4Address(), f.UserAgent(), "ref-"+strconv.Itoa(1000+r.Intn(9000))
}

type tournament struct {
	id                            int64
	at, startAt, endAt            time.Time
	name, sportID, sport, country string
}

func (w *world) tournament(f *gofakeit.Faker, b int64) tournament {
	r := f.Rand
	k := r.Intn(len(sports))
	t := tournament{id: b/int64(w.cfg.TournamentEveryHours) + 1, at: w.at(r, b), sport: sports[k], sportID: strconv.Itoa(k + 1)}
	t.country = f.CountryAbr()
	t.name = f.Country() + " " + t.sport + " Cup"
	t.startAt = t.at.Add(time.Duration(1+r.Intn(10*24)) * time.Hour).Truncate(time.Hour)
	t.endAt = t.startAt.Add(time.Duration(2+r.Intn(30)) * 24 * time.Hour)
	return t
}

type event struct {
	id, tournament int64
	times          []time.Time // created, live, finished
	title, typ     string
}

func (w *world) event(f *gofakeit.Faker, b int64, i int) event {
	r := f.Rand
	e := event{id: id(b, i)}
	at := w.at(r, b)
	start := at.Add(time.Duration(1+r.Intn(24*60)) * time.Minute).Truncate(time.Minute)
	e.times = []time.Time{at, start, start.Add(time.Duration(90+r.Intn(60)) * time.Minute)}
	return e
}

func (w *world) fillEvent(f *gofakeit.Faker, b int64, e *event) {
	r := f.Rand
	every := int64(w.cfg.TournamentEveryHours)
	last := (b - 1) / every // tournaments are made in buckets 0, every, 2*every, ...
	back := last + 1
	if back > 4 {
		back = 4
	}
	e.tournament = last - r.Int63n(back) + 1
	e.title = f.City() + " vs " + f.City()
	e.typ = []string{"prematch", "live"}[r.Intn(2)]
}

var eventStatuses = []string{"scheduled", "live", "finished"}

type bet struct {
	id, player                 int64
	times                      []time.Time // placed, settled
	won                        bool
	typ, stake, win, cur, kind string
	ua                         string
	sels                       []selection
}

type selection struct {
	id, event     int64
	ratio, market string
	won           bool
}

func (w *world) bet(f *gofakeit.Faker, b int64, i int) bet {
	r := f.Rand
	bt := bet{id: id(b, i)}
	at := w.at(r, b)
	bt.times = []time.Time{at, at.Add(time.Duration(1+r.Intn(24*60)) * time.Minute)}
	return bt
}

func (w *world) fillBet(f *gofakeit.Faker, b int64, bt *bet) {
	r := f.Rand
	bt.player = w.pickPlayer(r, b)
	bt.stake, bt.cur = money(r, 100), currencies[r.Intn(len(currencies))]
	bt.kind, bt.ua = contract.BalanceTypes[r.Intn(3)], f.UserAgent()
	bt.won = r.Intn(3) == 0
	n := 1 + r.Intn(3)
	bt.typ = "single"
	if n > 1 {
		bt.typ = "express"
	}
	ratio := 1.0
	for j := 0; j < n; j++ {
		back := b - 1 // events exist from bucket 1 on
		if back > 24 {
			back = 24
		}
		eb := b - 1 - r.Int63n(back)
		s := selection{id: bt.id*10 + int64(j) + 1, event: id(eb, r.Intn(w.cfg.EventsPerHour))}
		q := 1.05 + float64(r.Intn(400))/100
		ratio *= q
		s.ratio, s.market, s.won = strconv.FormatFloat(q, 'f', 2, 64), markets[r.Intn(len(markets))], bt.won || r.Intn(2) == 0
		bt.sels = append(bt.sels, s)
	}
	st, _ := strconv.ParseFloat(bt.stake, 64)
	bt.win = strconv.FormatFloat(st*ratio, 'f', 2, 64)
}
