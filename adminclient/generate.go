package adminclient

// client.gen.go is generated from specs/admin.yaml by oapi-codegen, run from
// the tools/codegen module so that the generator never enters this module's
// go.mod (only the small runtime its code imports does). After editing
// specs/admin.yaml run `go generate ./specs ./adminclient`; TestGeneratedClientIsCurrent
// fails until the committed file matches.
//go:generate go -C ../tools/codegen tool oapi-codegen -config ../../adminclient/oapi-codegen.yaml -o ../../adminclient/client.gen.go ../../specs/admin.yaml
