.PHONY: test lint ci demo lambda dist

# The README's test command, plus vet.
test:
	go test ./...
	go vet ./...

lint:
	test -z "$$(gofmt -l $$(git ls-files '*.go'))"
	go vet ./...
	go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

# Release archives for linux, darwin and windows on amd64 and arm64, with the
# version (git describe) and commit stamped in, and dist/SHA256SUMS
# (check with: cd dist && sha256sum -c SHA256SUMS). See scripts/dist.sh.
dist:
	bash scripts/dist.sh

ci:
	bash .ci/run

demo:
	go run ./cmd/cogvault demo

# The Lambda function for the provided.al2023 runtime, both architectures:
# dist/cogvault-lambda-arm64.zip and dist/cogvault-lambda-amd64.zip, each
# holding one executable named bootstrap (what deploy/terraform expects).
lambda:
	@for arch in arm64 amd64; do \
		rm -rf dist/$$arch && mkdir -p dist/$$arch && \
		GOOS=linux GOARCH=$$arch CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -ldflags='-s -w' \
			-o dist/$$arch/bootstrap ./cmd/cogvault-lambda && \
		(cd dist/$$arch && rm -f ../cogvault-lambda-$$arch.zip && zip -q -X ../cogvault-lambda-$$arch.zip bootstrap) && \
		echo "dist/cogvault-lambda-$$arch.zip"; \
	done
