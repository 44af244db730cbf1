module github.com/auditpipe/auditpipe/services/admin

go 1.26
