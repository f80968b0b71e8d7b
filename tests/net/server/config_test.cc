// sluiced's configuration: defaults, then a YAML file, then SLUICE_*
// environment variables, then flags, each beating the one before; DNS
// peers for a StatefulSet; and errors that name the setting at fault.
#include <gtest/gtest.h>

#include <cctype>
#include <fstream>

#include "net/server/config.h"
#include "tests/storage/temp_dir.h"

namespace sluice::net {
namespace {

struct Env {
  std::map<std::string, std::string> vars;
  std::function<const char*(const char*)> fn() const {
    return [this](const char* name) -> const char* {
      auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  }
};

ConfigOutcome load(std::vector<std::string> args, const Env& env = {}, std::string hostname = "host") {
  return load_config(ConfigInputs{std::move(args), env.fn(), std::move(hostname)});
}

TEST(Config, NothingGivenIsASingleNodeOnTheDocumentedPorts) {
  const ConfigOutcome out = load({});
  ASSERT_EQ(out.kind, ConfigOutcome::Kind::run) << out.text;
  EXPECT_EQ(out.config.id, NodeId(1));
  EXPECT_TRUE(out.config.peers.empty());
  EXPECT_EQ(out.config.data_dir, "./data");
  EXPECT_EQ(out.config.client_port, 50000);
  EXPECT_EQ(out.config.peer_port, 50001);
  EXPECT_EQ(out.config.http_port, 8080);
  EXPECT_EQ(out.config.cluster, "sluice");
  EXPECT_EQ(out.config.log_format, LogFormat::text);
}

TEST(Config, FlagsBeatTheEnvironmentWhichBeatsTheFileWhichBeatsDefaults) {
  testing::TempDir dir("sluice-config");
  const std::string file = dir.sub("sluice.yaml");
  std::ofstream(file) << "client_port: 1001\npeer-port: 1002\nhttp-port: 1003\ncluster: from-file\n";
  Env env;
  env.vars["SLUICE_PEER_PORT"] = "2002";
  env.vars["SLUICE_HTTP_PORT"] = "2003";
  env.vars["SLUICE_UNRELATED"] = "ignored";
  const ConfigOutcome out = load({"--config", file, "--http-port=3003"}, env);
  ASSERT_EQ(out.kind, ConfigOutcome::Kind::run) << out.text;
  EXPECT_EQ(out.config.client_port, 1001) << "only the file sets it";
  EXPECT_EQ(out.config.peer_port, 2002) << "the environment beats the file";
  EXPECT_EQ(out.config.http_port, 3003) << "a flag beats both";
  EXPECT_EQ(out.config.cluster, "from-file");
  EXPECT_EQ(out.config.data_dir, "./data") << "the default stays";
}

TEST(Config, TheFileMayComeFromTheEnvironmentAndListPeersAsAMap) {
  testing::TempDir dir("sluice-config");
  const std::string file = dir.sub("sluice.yaml");
  std::ofstream(file) << "id: 2\npeers:\n  1: a:7001\n  2: b:7002\n  3: c:7003\nlog-format: json\n";
  Env env;
  env.vars["SLUICE_CONFIG"] = file;
  const ConfigOutcome out = load({}, env);
  ASSERT_EQ(out.kind, ConfigOutcome::Kind::run) << out.text;
  EXPECT_EQ(out.config.id, NodeId(2));
  ASSERT_EQ(out.config.peers.size(), 3u);
  EXPECT_EQ(out.config.peers.at(NodeId(3)).host, "c");
  EXPECT_EQ(out.config.peers.at(NodeId(3)).port, 7003);
  EXPECT_EQ(out.config.log_format, LogFormat::json);
}

TEST(Config, AStatefulSetPodTakesItsIdFromItsHostname) {
  const ConfigOutcome out =
      load({"--peers-dns", "sluice-{i}.sluice-headless:50001", "--replicas", "3"}, {}, "sluice-2");
  ASSERT_EQ(out.kind, ConfigOutcome::Kind::run) << out.text;
  EXPECT_EQ(out.config.id, NodeId(3)) << "ordinal 2 is node 3";
  ASSERT_EQ(out.config.peers.size(), 3u);
  EXPECT_EQ(out.config.peers.at(NodeId(1)).host, "sluice-0.sluice-headless");
  EXPECT_EQ(out.config.peers.at(NodeId(1)).port, 50001);
}

TEST(Config, MistakesAreRefusedNamingWhereTheyCameFrom) {
  auto error = [](std::vector<std::string> args, const Env& env = {}, std::string host = "host") {
    const ConfigOutcome out = load(std::move(args), env, std::move(host));
    EXPECT_EQ(out.kind, ConfigOutcome::Kind::error);
    return out.text;
  };
  EXPECT_NE(error({"--client-port", "70000"}).find("--client-port"), std::string::npos);
  Env env;
  env.vars["SLUICE_LOG_LEVEL"] = "loud";
  EXPECT_NE(error({}, env).find("SLUICE_LOG_LEVEL"), std::string::npos);
  EXPECT_NE(error({"--no-such-flag"}).find("no-such-flag"), std::string::npos);
  EXPECT_NE(error({"--id", "4", "--peers", "1=a:1,2=b:2,3=c:3"}).find("not among the peers"), std::string::npos);
  EXPECT_NE(error({"--peers", "1=a"}).find("port"), std::string::npos);
  EXPECT_NE(error({"--peers-dns", "sluice-{i}:1", "--replicas", "3"}, {}, "laptop").find("hostname"),
            std::string::npos);
  EXPECT_NE(error({"--peers", "1=a:1", "--peers-dns", "x-{i}:1"}).find("use one"), std::string::npos);
  EXPECT_NE(error({"--id", "4294967296"}).find("node id"), std::string::npos) << "client ids start at 2^32";
  EXPECT_NE(error({"--config", "/no/such/file.yaml"}).find("cannot be read"), std::string::npos);

  testing::TempDir dir("sluice-config");
  const std::string file = dir.sub("bad.yaml");
  std::ofstream(file) << "client-prot: 1\n";
  EXPECT_NE(error({"--config", file}).find("unknown setting 'client-prot'"), std::string::npos);
}

TEST(Config, SnapshotEveryComesFromAFlagTheEnvironmentOrTheFileAndZeroMeansNever) {
  EXPECT_EQ(load({}).config.snapshot_every, 10'000u) << "the documented default";
  testing::TempDir dir("sluice-config");
  const std::string file = dir.sub("sluice.yaml");
  std::ofstream(file) << "snapshot_every: 500\n";
  EXPECT_EQ(load({"--config", file}).config.snapshot_every, 500u);
  Env env;
  env.vars["SLUICE_SNAPSHOT_EVERY"] = "200";
  EXPECT_EQ(load({"--config", file}, env).config.snapshot_every, 200u) << "the environment beats the file";
  const ConfigOutcome never = load({"--snapshot-every", "0"}, env);
  ASSERT_EQ(never.kind, ConfigOutcome::Kind::run) << never.text;
  EXPECT_EQ(never.config.snapshot_every, 0u) << "0 is allowed: never compact";
  for (const char* garbage : {"often", "-1", "1e3", "10k", ""}) {
    const ConfigOutcome out = load({"--snapshot-every", garbage});
    EXPECT_EQ(out.kind, ConfigOutcome::Kind::error) << "'" << garbage << "'";
    EXPECT_NE(out.text.find("--snapshot-every"), std::string::npos) << out.text;
  }
  env.vars["SLUICE_SNAPSHOT_EVERY"] = "lots";
  EXPECT_NE(load({}, env).text.find("SLUICE_SNAPSHOT_EVERY: 'lots' is not a number from 0 to"), std::string::npos);
}

TEST(Config, JoinIsAFlagAloneOrAValueAndNeedsTheMembersAddresses) {
  const std::string members = "1=a:50001,2=b:50001,3=c:50001";
  const ConfigOutcome flag = load({"--id", "4", "--join", "--peers", members});
  ASSERT_EQ(flag.kind, ConfigOutcome::Kind::run) << flag.text;
  EXPECT_TRUE(flag.config.join);
  EXPECT_EQ(flag.config.peers.size(), 3u) << "self may be left out when joining";
  const ConfigOutcome env = load({"--id", "4", "--peers", members}, Env{{{"SLUICE_JOIN", "yes"}}});
  ASSERT_EQ(env.kind, ConfigOutcome::Kind::run) << env.text;
  EXPECT_TRUE(env.config.join);
  EXPECT_FALSE(load({"--peers", members}).config.join);
  const ConfigOutcome off = load({"--join=false", "--peers", members});
  ASSERT_EQ(off.kind, ConfigOutcome::Kind::run) << off.text;
  EXPECT_FALSE(off.config.join);
  const ConfigOutcome alone = load({"--id", "4", "--join"});
  EXPECT_EQ(alone.kind, ConfigOutcome::Kind::error);
  EXPECT_NE(alone.text.find("join needs --peers"), std::string::npos) << alone.text;
  const ConfigOutcome bad = load({"--join=maybe", "--peers", members});
  EXPECT_EQ(bad.kind, ConfigOutcome::Kind::error);
  EXPECT_NE(bad.text.find("--join"), std::string::npos) << bad.text;
}

TEST(Config, BrokerLimitsDefaultToTheDocumentedValues) {
  const ConfigOutcome out = load({});
  ASSERT_EQ(out.kind, ConfigOutcome::Kind::run) << out.text;
  EXPECT_EQ(out.config.limits.body_bytes_max, 1u << 20);
  EXPECT_EQ(out.config.limits.visibility_default, Duration::seconds(30));
  EXPECT_EQ(out.config.limits.store_retention.bytes_max, 1ull << 30);
  EXPECT_EQ(out.config.limits.dedup_window, Duration::seconds(120));
  // --help shows each default as the code has it.
  std::string help;  // without the line wrapping
  for (char c : load({"--help"}).text) {
    if (!std::isspace(static_cast<unsigned char>(c))) help += c;
    else if (!help.empty() && help.back() != ' ') help += ' ';
  }
  EXPECT_NE(help.find("--body-bytes-max BYTES"), std::string::npos) << help;
  EXPECT_NE(help.find("largest message body (default 1MiB); SLUICE_BODY_BYTES_MAX"), std::string::npos) << help;
  EXPECT_NE(help.find("(default 12h); SLUICE_VISIBILITY_MAX"), std::string::npos) << help;
  EXPECT_NE(help.find("(default 7d); SLUICE_DELAY_MAX"), std::string::npos) << help;
  EXPECT_NE(help.find("(default 2m, replicated); SLUICE_DEDUP_WINDOW"), std::string::npos) << help;
  EXPECT_NE(help.find("(default 0, replicated); SLUICE_STORE_RETENTION_AGE"), std::string::npos) << help;
}

TEST(Config, BrokerLimitsComeFromFlagsTheEnvironmentOrTheFileWithUnits) {
  testing::TempDir dir("sluice-config");
  const std::string file = dir.sub("sluice.yaml");
  std::ofstream(file) << "body_bytes_max: 64KiB\nvisibility-default: 2m\nstore-retention-count: 5000\n"
                         "delay-max: 1d\n";
  Env env;
  env.vars["SLUICE_VISIBILITY_DEFAULT"] = "45s";
  env.vars["SLUICE_SEND_BATCH_MAX"] = "50";
  const ConfigOutcome out = load({"--config", file, "--send-batch-max", "20", "--dedup-window=1h"}, env);
  ASSERT_EQ(out.kind, ConfigOutcome::Kind::run) << out.text;
  const broker::Limits& l = out.config.limits;
  EXPECT_EQ(l.body_bytes_max, 64u << 10) << "only the file sets it";
  EXPECT_EQ(l.visibility_default, Duration::seconds(45)) << "the environment beats the file";
  EXPECT_EQ(l.send_batch_max, 20u) << "a flag beats both";
  EXPECT_EQ(l.dedup_window, Duration::seconds(3600));
  EXPECT_EQ(l.delay_max, Duration::seconds(24 * 3600));
  EXPECT_EQ(l.store_retention.count_max, 5000u);
  EXPECT_EQ(l.store_retention.bytes_max, 1ull << 30) << "the other retention bounds keep their defaults";
  EXPECT_EQ(l.metadata_bytes_max, 16u << 10) << "untouched limits keep their defaults";
  const ConfigOutcome zero = load({"--store-retention-bytes", "0", "--dedup-window", "0"});
  ASSERT_EQ(zero.kind, ConfigOutcome::Kind::run) << zero.text;
  EXPECT_EQ(zero.config.limits.store_retention.bytes_max, 0u) << "0: no bound";
  EXPECT_EQ(zero.config.limits.dedup_window, Duration{});
}

TEST(Config, ABrokerLimitOutOfRangeOrInTheWrongUnitIsRefusedNamingIt) {
  auto error = [](std::vector<std::string> args, const Env& env = {}) {
    const ConfigOutcome out = load(std::move(args), env);
    EXPECT_EQ(out.kind, ConfigOutcome::Kind::error) << out.text;
    return out.text;
  };
  EXPECT_EQ(error({"--body-bytes-max", "lots"}),
            "--body-bytes-max: 'lots' is not a size (1048576, 64KiB, 1MiB, 1GiB) from 1 to 8MiB");
  EXPECT_EQ(error({"--body-bytes-max", "9MiB"}), "--body-bytes-max: '9MiB' is not a value from 1 to 8MiB");
  EXPECT_EQ(error({"--body-bytes-max", "1MB"}),
            "--body-bytes-max: '1MB' is not a size (1048576, 64KiB, 1MiB, 1GiB) from 1 to 8MiB");
  EXPECT_EQ(error({"--send-batch-max", "0"}), "--send-batch-max: '0' is not a whole number from 1 to 10000");
  EXPECT_EQ(error({"--send-batch-max", "10k"}), "--send-batch-max: '10k' is not a whole number from 1 to 10000");
  EXPECT_EQ(error({}, Env{{{"SLUICE_WAIT_MAX", "1.5s"}}}),
            "SLUICE_WAIT_MAX: '1.5s' is not a duration (500ms, 30s, 2m, 12h, 7d) from 1ms to 1h");
  EXPECT_EQ(error({"--wait-max", "2h"}), "--wait-max: '2h' is not a value from 1ms to 1h");
  EXPECT_EQ(error({"--receive-count-max", "99999999999999999999999"}),
            "--receive-count-max: '99999999999999999999999' is not a whole number from 1 to 1000000");
  // Limits that only make sense together.
  EXPECT_EQ(error({"--visibility-default", "2h", "--visibility-max", "1h"}),
            "visibility-default (7200.000s) is over visibility-max (3600.000s)");
  EXPECT_NE(error({"--body-bytes-max", "8MiB"}).find("over the 8 MiB a message may take"), std::string::npos)
      << "body, metadata and tags together";
  testing::TempDir dir("sluice-config");
  const std::string file = dir.sub("sluice.yaml");
  std::ofstream(file) << "tags-max: many\n";
  EXPECT_NE(error({"--config", file}).find(file + ": tags-max: 'many' is not a whole number"), std::string::npos);
}

TEST(Config, HelpAndVersionAreNotErrors) {
  EXPECT_EQ(load({"--help"}).kind, ConfigOutcome::Kind::help);
  EXPECT_NE(load({"--help"}).text.find("SLUICE_CLIENT_PORT"), std::string::npos);
  EXPECT_EQ(load({"--version"}).kind, ConfigOutcome::Kind::version);
}

}  // namespace
}  // namespace sluice::net
