# Thin shortcuts for the README commands; tools/dev.sh does the work.
.PHONY: run stop sim-demo test swarm asan bench
run:
	tools/dev.sh run
stop:
	tools/dev.sh stop
sim-demo:
	tools/dev.sh sim-demo
test:
	tools/dev.sh test
swarm:
	tools/dev.sh swarm
asan:
	tools/dev.sh asan
bench:
	tools/dev.sh bench
