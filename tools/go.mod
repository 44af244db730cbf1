module github.com/auditpipe/auditpipe/tools

go 1.26
