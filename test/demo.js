console.log('make demo: not yet: the daemon (issue: feltd) has not landed.');
