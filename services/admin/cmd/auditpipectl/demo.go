package main

import (
	"cmp"
	"time"

	"github.com/auditpipe/auditpipe/pkg/demo"
)

// demoCmd runs the whole pipeline in this process (package demo) until --duration passes or
// Ctrl-C.
type demoCmd struct {
	Duration  time.Duration `help:"Stop after this long; 0 runs until Ctrl-C." default:"0s"`
	Events    int           `help:"Historical events in the simulated audit log, spread over --history." default:"20000"`
	History   time.Duration `help:"How far back the simulated audit log goes." default:"72h"`
	Since     time.Duration `help:"Export from this long ago (the start-time); 0: the whole history. Shorter leaves older events for reset-start-time." default:"0s"`
	Rate      float64       `help:"Live events per second; negative: none." default:"20"`
	Shippers  int           `help:"Shipper replicas." default:"2"`
	RedisAddr string        `name:"redis-addr" help:"A Redis to use, host:port (default: $REDIS_ADDR, else a redis-server the demo starts); the demo's keys are deleted when it stops." placeholder:"HOST:PORT"`
	Listen    string        `help:"The admin API's address; a free port when it is taken." default:"127.0.0.1:8080" placeholder:"HOST:PORT"`
	Interval  time.Duration `help:"How often to print progress." default:"2s"`
	LogFile   string        `name:"log-file" help:"Keep the engines' logs in this file (default: in the demo's temporary directory, removed when it stops)." type:"path" placeholder:"FILE"`
}

func (c *demoCmd) Run(a *app) error {
	return demo.Run(a.ctx, demo.Options{
		Duration: c.Duration, Events: c.Events, History: c.History, Since: c.Since, Rate: c.Rate,
		Shippers: c.Shippers, RedisAddr: cmp.Or(c.RedisAddr, a.env["REDIS_ADDR"]), AdminListen: c.Listen,
		Interval: c.Interval, LogFile: c.LogFile,
	}, a.stdout)
}
