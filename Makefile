# Thin shortcuts for the README commands; tools/dev.sh does the work.
.PHONY: run test swarm asan bench
run:
	tools/dev.sh run
test:
	tools/dev.sh test
swarm:
	tools/dev.sh swarm
asan:
	tools/dev.sh asan
bench:
	tools/dev.sh bench
