package postman

import (
	"bytes"
	"encoding/json"
)

// The types below are the part of Postman's collection format v2.1 and of
// its environment format that the generator writes. Field names and shapes
// follow the published schema (SchemaURL); empty optional members are left
// out, so the files stay short enough to read in a diff.

// SchemaURL identifies collection format v2.1 in Info.Schema; Postman and
// newman read the format from it.
const SchemaURL = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"

// Collection is a Postman collection.
type Collection struct {
	Info     Info       `json:"info"`
	Item     []Item     `json:"item"`
	Variable []Variable `json:"variable,omitempty"`
}

// Info names the collection.
type Info struct {
	PostmanID   string `json:"_postman_id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Schema      string `json:"schema"`
}

// Item is a folder (Item set) or a request (Request set).
type Item struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Item        []Item   `json:"item,omitempty"`
	Event       []Event  `json:"event,omitempty"`
	Request     *Request `json:"request,omitempty"`
}

// Event is a script Postman runs around a request: "prerequest" or "test".
type Event struct {
	Listen string `json:"listen"`
	Script Script `json:"script"`
}

// Script is JavaScript, one line per element.
type Script struct {
	Type string   `json:"type"`
	Exec []string `json:"exec"`
}

// Request is one HTTP request.
type Request struct {
	Method      string   `json:"method"`
	Header      []KeyVal `json:"header"`
	Auth        *Auth    `json:"auth,omitempty"`
	Body        *Body    `json:"body,omitempty"`
	URL         URL      `json:"url"`
	Description string   `json:"description,omitempty"`
}

// KeyVal is a header, a query parameter, a path variable or a form field.
type KeyVal struct {
	Key         string `json:"key"`
	Value       string `json:"value"`
	Type        string `json:"type,omitempty"`
	Disabled    bool   `json:"disabled,omitempty"`
	Description string `json:"description,omitempty"`
}

// URL is a request URL, both as text (Raw, what Postman shows) and in parts
// (what Postman and newman send).
type URL struct {
	Raw      string   `json:"raw"`
	Host     []string `json:"host"`
	Path     []string `json:"path"`
	Query    []KeyVal `json:"query,omitempty"`
	Variable []KeyVal `json:"variable,omitempty"`
}

// Body is a request body: Mode "raw" (Raw with Options' language) or
// "urlencoded" (URLEncoded).
type Body struct {
	Mode       string       `json:"mode"`
	Raw        string       `json:"raw,omitempty"`
	URLEncoded []KeyVal     `json:"urlencoded,omitempty"`
	Options    *BodyOptions `json:"options,omitempty"`
}

// BodyOptions tells Postman how to show a raw body.
type BodyOptions struct {
	Raw struct {
		Language string `json:"language"`
	} `json:"raw"`
}

// Auth is a request's authentication: Type "bearer" or "basic", with the
// attributes of that type.
type Auth struct {
	Type   string     `json:"type"`
	Bearer []AuthAttr `json:"bearer,omitempty"`
	Basic  []AuthAttr `json:"basic,omitempty"`
}

// AuthAttr is one attribute of an Auth ("token", "username", "password").
type AuthAttr struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	Type  string `json:"type"`
}

// Variable is a collection variable.
type Variable struct {
	Key         string `json:"key"`
	Value       string `json:"value"`
	Type        string `json:"type"`
	Description string `json:"description,omitempty"`
}

// Environment is a Postman environment: variables that override the
// collection's of the same name, so one collection serves many sandboxes.
type Environment struct {
	ID     string     `json:"id"`
	Name   string     `json:"name"`
	Values []EnvValue `json:"values"`
	Scope  string     `json:"_postman_variable_scope"`
}

// EnvValue is one environment variable.
type EnvValue struct {
	Key     string `json:"key"`
	Value   string `json:"value"`
	Type    string `json:"type"`
	Enabled bool   `json:"enabled"`
}

// Marshal writes a collection or an environment as indented JSON with a
// final newline, without escaping <, > and & (descriptions and scripts are
// read by people, and by Postman, which needs no escaping).
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
