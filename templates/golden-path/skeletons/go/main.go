// Command ${{ values.name }}: ${{ values.description }}
package main

import (
	"encoding/json"
	"log"
	"net/http"
	"os"
)

func handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok"))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("content-type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"service": "${{ values.name }}", "environment": os.Getenv("ENVIRONMENT")})
	})
	return mux
}

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	log.Printf("${{ values.name }} listening on %s", port)
	log.Fatal(http.ListenAndServe(":"+port, handler()))
}
