/*
 * What the engine benchmarks share: the data directory, counting changes
 * as their done callbacks report them, and polling until few are in
 * flight. Header-only; each benchmark program includes it once.
 */
#ifndef MTGATE_BENCH_COMMON_H
#define MTGATE_BENCH_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "mtgate/engine.h"

namespace bench
{

/* The run's data directory: a mkdtemp under $MTGATE_BENCH_DIR or /tmp,
 * made on first use ("" until then). */
inline std::string &root_dir()
{
	static std::string dir;
	return dir;
}

inline const std::string &root(const char *prog)
{
	std::string &dir = root_dir();
	if (dir.empty()) {
		const char *base = getenv("MTGATE_BENCH_DIR");
		std::string tmpl = std::string(base && *base ? base : "/tmp") +
				   "/mtgate-" + prog + "-XXXXXX";
		std::vector<char> buf(tmpl.begin(), tmpl.end());
		buf.push_back('\0');
		if (mkdtemp(buf.data()) == nullptr) {
			fprintf(stderr, "%s: mkdtemp %s: ", prog, tmpl.c_str());
			perror(nullptr);
			exit(2);
		}
		dir = buf.data();
	}
	return dir;
}

/* Remove the data directory; 0, or 1 after saying why it failed. */
inline int remove_root(const char *prog)
{
	std::string &dir = root_dir();
	std::error_code ec;

	if (dir.empty())
		return 0;
	std::filesystem::remove_all(dir, ec);
	if (ec) {
		fprintf(stderr, "%s: remove %s: %s\n", prog, dir.c_str(),
			ec.message().c_str());
		return 1;
	}
	return 0;
}

/* Changes (or MOs) as their done callbacks report them. */
struct reaper {
	uint64_t completed = 0;
	uint64_t failed = 0;    /* status < 0 */
	uint64_t unchanged = 0; /* outcome was not CHANGED */
	int first_err = 0;
};

/* An mtgate_done_fn; arg is a reaper. */
inline void reap_done(void *arg, int status, mtgate_outcome outcome,
		      uint32_t consents)
{
	(void)consents;
	reaper *r = static_cast<reaper *>(arg);
	r->completed++;
	if (status < 0) {
		if (r->failed++ == 0)
			r->first_err = status;
	} else if (outcome != MTGATE_CHANGED) {
		r->unchanged++;
	}
}

/* Poll shard 0 until at most limit of submitted are in flight. An empty
 * poll yields the core (the committer and RocksDB share the machine's
 * other core), as an owner would block. */
inline void reap_until(mtgate_engine *eng, const reaper &r, uint64_t submitted,
		       uint64_t limit)
{
	while (submitted - r.completed > limit)
		if (mtgate_shard_poll(eng, 0) == 0)
			usleep(50);
}

} // namespace bench

#endif
