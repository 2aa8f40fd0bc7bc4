// Receive Buzz events or BuzzChat webhooks: verify, dedupe, answer 204 at once (docs/receiving.md).
//
//	go mod tidy    # fetches the library and writes go.sum
//	WEBHOOK_SECRET=whsec_... PORT=8000 go run .
//
// Plain HTTP behind your TLS proxy; HTTPS itself when TLS_CERT_FILE and TLS_KEY_FILE are set.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"sync"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

type delivery struct {
	id   string
	body []byte
}

func main() {
	secret := os.Getenv("WEBHOOK_SECRET")
	webhook, err := standardwebhooks.NewWebhook(secret)
	if err != nil || secret == "" {
		log.Fatalf("WEBHOOK_SECRET must be the whsec_... secret: %v", err)
	}
	var mu sync.Mutex
	seen := map[string]bool{} // ids already taken: production keeps them in its database (unique key)
	work := make(chan delivery, 1024)
	go handle(work)

	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		// The raw bytes, as received; a timestamp over 5 minutes off is refused too.
		if err := webhook.Verify(body, r.Header); err != nil {
			fmt.Printf("rejected: %v\n", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		id := r.Header.Get("webhook-id") // the same on every retry of this event
		mu.Lock()
		duplicate := seen[id]
		seen[id] = true
		mu.Unlock()
		if duplicate {
			fmt.Printf("duplicate %s\n", id)
		} else {
			fmt.Printf("accepted %s\n", id)
			work <- delivery{id, body}
		}
		w.WriteHeader(http.StatusNoContent) // answer first; the work is done after
	})

	port := getenv("PORT", "8000")
	addr := getenv("HOST", "127.0.0.1") + ":" + port
	fmt.Printf("listening on port %s\n", port)
	if cert := os.Getenv("TLS_CERT_FILE"); cert != "" {
		log.Fatal(http.ListenAndServeTLS(addr, cert, os.Getenv("TLS_KEY_FILE"), nil))
	}
	log.Fatal(http.ListenAndServe(addr, nil))
}

func getenv(name, fallback string) string {
	if value := os.Getenv(name); value != "" {
		return value
	}
	return fallback
}

// handle does the real work, off the request.
func handle(work <-chan delivery) {
	for d := range work {
		var event struct {
			Type  string `json:"type"` // BuzzChat's
			Event struct {
				Type string `json:"type"` // Buzz's
			} `json:"event"`
		}
		_ = json.Unmarshal(d.body, &event) // verified above: it is the sender's JSON
		kind := event.Type
		if kind == "" {
			kind = event.Event.Type
		}
		fmt.Printf("handled %s %s\n", d.id, kind)
	}
}
