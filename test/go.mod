module github.com/auditpipe/auditpipe/test

go 1.26
