package auditor

// ScanError is one failure a scan met and carried on past.
type ScanError struct {
	Registry    string
	Repository  string
	Reference   string // tag or digest
	LayerDigest string
	Message     string
}

// ScanStats are the counts a scan reports in its summary and scans row.
type ScanStats struct {
	Repositories  int64
	Tags          int64
	Images        int64
	LayersRead    int64
	LayersSkipped int64
	Files         int64
	BytesRead     int64 // compressed bytes read from the registry
	Errors        int64
}
