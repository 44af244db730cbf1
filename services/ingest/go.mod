module github.com/auditpipe/auditpipe/services/ingest

go 1.26
