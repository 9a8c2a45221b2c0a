module github.com/mccutchen/go-httpbin/v2

go 1.26.0
