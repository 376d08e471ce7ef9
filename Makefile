.PHONY: test lint ci demo

# The README's test command, plus vet.
test:
	go test ./...
	go vet ./...

lint:
	test -z "$$(gofmt -l $$(git ls-files '*.go'))"
	go vet ./...
	go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

ci:
	bash .ci/run

demo:
	go run ./cmd/cogvault demo
