package store

import (
	"database/sql"
	"errors"
	"fmt"
	"strconv"
)

// schema creates the tables of Version 1. WITHOUT ROWID keeps each table
// ordered by its key, which is the order the sandbox reads them in.
const schema = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE namespaces (name TEXT PRIMARY KEY, world BLOB NOT NULL, loaded INTEGER NOT NULL DEFAULT 1) WITHOUT ROWID;
CREATE TABLE records (ns TEXT NOT NULL, provider TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
  PRIMARY KEY (ns, provider, kind, key)) WITHOUT ROWID;
CREATE TABLE journal (ns TEXT NOT NULL, seq INTEGER NOT NULL, entry BLOB NOT NULL, PRIMARY KEY (ns, seq)) WITHOUT ROWID;
`

// migrations[v] turns a database of version v into one of version v+1,
// inside the transaction that then records version v+1. A build that
// changes the tables raises Version and adds the step here, so that an
// older data directory is carried forward rather than misread.
var migrations = map[int]func(tx *sql.Tx) error{}

// ErrNewerDataDir is returned (wrapped) by Open for a data directory that
// a newer build wrote.
var ErrNewerDataDir = errors.New("the data directory was written by a newer provider-sandbox")

// ErrNotDataDir is returned (wrapped) by Open for a database that is not a
// provider-sandbox data directory.
var ErrNotDataDir = errors.New("not a provider-sandbox data directory")

// prepare creates the schema in an empty database, migrates an older one
// and refuses one it cannot read.
func (s *Store) prepare() error {
	tx, err := s.w.Begin()
	if err != nil {
		return fmt.Errorf("opening %s: %w", s.path, err)
	}
	defer tx.Rollback()
	var tables int
	if err := tx.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE type = 'table'`).Scan(&tables); err != nil {
		return fmt.Errorf("opening %s: %w (is it an SQLite database?)", s.path, err)
	}
	if tables == 0 {
		if _, err := tx.Exec(schema); err != nil {
			return fmt.Errorf("creating %s: %w", s.path, err)
		}
		if _, err := tx.Exec(`INSERT INTO meta (key, value) VALUES ('format', ?), ('version', ?)`, Format, strconv.Itoa(Version)); err != nil {
			return err
		}
		return tx.Commit()
	}
	var format, version string
	err1 := tx.QueryRow(`SELECT value FROM meta WHERE key = 'format'`).Scan(&format)
	err2 := tx.QueryRow(`SELECT value FROM meta WHERE key = 'version'`).Scan(&version)
	if err1 != nil || err2 != nil || format != Format {
		return fmt.Errorf("%s: %w (it has no %q format mark); give --data-dir an empty or new directory", s.path, ErrNotDataDir, Format)
	}
	v, err := strconv.Atoi(version)
	if err != nil || v < 1 {
		return fmt.Errorf("%s: %w (version %q)", s.path, ErrNotDataDir, version)
	}
	if v > Version {
		return fmt.Errorf("%s: %w (data format %d; this build reads up to %d): run that build or a newer one, or give --data-dir another directory", s.path, ErrNewerDataDir, v, Version)
	}
	for ; v < Version; v++ {
		step := migrations[v]
		if step == nil {
			return fmt.Errorf("%s: data format %d cannot be migrated to %d by this build", s.path, v, v+1)
		}
		if err := step(tx); err != nil {
			return fmt.Errorf("%s: migrating data format %d to %d: %w", s.path, v, v+1, err)
		}
	}
	if _, err := tx.Exec(`UPDATE meta SET value = ? WHERE key = 'version'`, strconv.Itoa(Version)); err != nil {
		return err
	}
	return tx.Commit()
}

// statements of the writer, prepared once per commit's transaction.
var statements = [...]string{
	opPut:         `INSERT INTO records (ns, provider, kind, key, value) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET value = excluded.value`,
	opDelete:      `DELETE FROM records WHERE ns = ? AND provider = ? AND kind = ? AND key = ?`,
	opWorld:       `INSERT INTO namespaces (name, world, loaded) VALUES (?, ?, 1) ON CONFLICT DO UPDATE SET world = excluded.world, loaded = 1`,
	opDrop:        `DELETE FROM namespaces WHERE name = ?`,
	opLoaded:      `UPDATE namespaces SET loaded = ? WHERE name = ?`,
	opJournal:     `INSERT OR REPLACE INTO journal (ns, seq, entry) VALUES (?, ?, ?)`,
	opTrimJournal: `DELETE FROM journal WHERE ns = ? AND seq < ?`,
	opMeta:        `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT DO UPDATE SET value = excluded.value`,
}

// recordKey names one record across namespaces.
type recordKey struct{ ns, provider, kind, key string }

// supersededOps marks the Puts and Deletes of a batch that a later Put or
// Delete of the same record in the batch overrides: only the last one of
// a record needs writing (a pool changed by 30 gifts in one commit is
// written once). A namespace's world or drop is a barrier: nothing before
// it is merged with anything after it.
func supersededOps(batch []op) []bool {
	var out []bool
	seen := map[recordKey]bool{}
	for i := len(batch) - 1; i >= 0; i-- {
		o := &batch[i]
		switch o.kind {
		case opPut, opDelete:
			k := recordKey{o.ns, o.provider, o.rkind, o.key}
			if seen[k] {
				if out == nil {
					out = make([]bool, len(batch))
				}
				out[i] = true
			}
			seen[k] = true
		case opWorld, opDrop:
			clear(seen)
		}
	}
	if out == nil {
		out = make([]bool, len(batch))
	}
	return out
}

// prepareStatements prepares the writer's statements once, before the
// writer starts: a statement prepared while a commit holds the writer's
// only connection would wait for that connection forever.
func (s *Store) prepareStatements() error {
	for k, q := range statements {
		st, err := s.w.Prepare(q)
		if err != nil {
			return fmt.Errorf("preparing %q: %w", q, err)
		}
		s.prepared[k] = st
	}
	return nil
}

// commit writes one batch in one transaction.
func (s *Store) commit(batch []op) error {
	tx, err := s.w.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt := func(k opKind) (*sql.Stmt, error) {
		// Prepared on the writer's only connection (prepareStatements),
		// so the transaction, on that connection too, uses it as it is.
		return tx.Stmt(s.prepared[k]), nil
	}
	superseded := supersededOps(batch)
	for i, o := range batch {
		if superseded[i] {
			continue
		}
		st, err := stmt(o.kind)
		if err != nil {
			return err
		}
		switch o.kind {
		case opPut:
			_, err = st.Exec(o.ns, o.provider, o.rkind, o.key, o.value)
		case opDelete:
			_, err = st.Exec(o.ns, o.provider, o.rkind, o.key)
		case opWorld:
			if _, err = tx.Exec(`DELETE FROM records WHERE ns = ?`, o.ns); err == nil {
				if _, err = tx.Exec(`DELETE FROM journal WHERE ns = ?`, o.ns); err == nil {
					_, err = st.Exec(o.ns, o.value)
				}
			}
		case opDrop:
			if _, err = tx.Exec(`DELETE FROM records WHERE ns = ?`, o.ns); err == nil {
				if _, err = tx.Exec(`DELETE FROM journal WHERE ns = ?`, o.ns); err == nil {
					_, err = st.Exec(o.ns)
				}
			}
		case opLoaded:
			_, err = st.Exec(o.n, o.ns)
		case opJournal:
			_, err = st.Exec(o.ns, o.n, o.value)
		case opTrimJournal:
			_, err = st.Exec(o.ns, o.n)
		case opMeta:
			_, err = st.Exec(o.key, string(o.value))
		}
		if err != nil {
			return err
		}
	}
	return tx.Commit()
}
