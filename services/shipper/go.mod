module github.com/auditpipe/auditpipe/services/shipper

go 1.26
