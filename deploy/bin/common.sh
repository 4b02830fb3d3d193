# shellcheck shell=bash disable=SC2034  # variables used by the scripts that source this file
# Shared by deploy/bin/submit and deploy/bin/tokenize: sourced, never run. The sourcing script sets SPARKLM_BIN (its
# own directory, symlinks resolved) and SPARKLM_PROG (its name, for messages) first.
#
# Environment (all optional):
#   JAVA_HOME               the Java (17+) to run; else `java` on PATH
#   SPARK_HOME              a Spark 3.5 / Scala 2.12 installation: deploy/bin/submit then uses its bin/spark-submit;
#                           unset, the runtime that `mvn package` assembles in deploy/spark-runtime/target/spark is used
#   SPARKLM_CONF_DIR        where spark-defaults.conf and log4j2.properties are read (default: <repo>/conf)
#   SPARKLM_DRIVER_MEMORY   heap of the local JVM (the Spark driver, or the tokenizer): default 4g
#   SPARKLM_JAVA_OPTS       extra JVM options for the local JVM (split on spaces)
#   SPARKLM_APP_JAR         the application jar (default: <repo>/jobs/target/sparklm-jobs-*.jar)

SPARKLM_HOME=$(cd -P -- "$SPARKLM_BIN/../.." && pwd)
SPARKLM_MAIN_CLASS=org.sparklm.jobs.Main
SPARKLM_RUNTIME=$SPARKLM_HOME/deploy/spark-runtime/target/spark
SPARKLM_CONF_DIR=${SPARKLM_CONF_DIR:-$SPARKLM_HOME/conf}
SPARKLM_BUILD_HINT="run 'mvn -q -DskipTests package' in $SPARKLM_HOME first"

# The Java 17 module options that Spark 3.5.7's own launcher gives every driver and executor
# (org.apache.spark.launcher.JavaModuleOptions, less -XX:+IgnoreUnrecognizedVMOptions, which only matters to Java 8).
# A superset of jvm.module.opens in the root pom.xml and of the list in FACTS.md.
SPARKLM_JAVA_MODULE_OPTS=(
  --add-opens=java.base/java.lang=ALL-UNNAMED
  --add-opens=java.base/java.lang.invoke=ALL-UNNAMED
  --add-opens=java.base/java.lang.reflect=ALL-UNNAMED
  --add-opens=java.base/java.io=ALL-UNNAMED
  --add-opens=java.base/java.net=ALL-UNNAMED
  --add-opens=java.base/java.nio=ALL-UNNAMED
  --add-opens=java.base/java.util=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED
  --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens=java.base/sun.nio.cs=ALL-UNNAMED
  --add-opens=java.base/sun.security.action=ALL-UNNAMED
  --add-opens=java.base/sun.util.calendar=ALL-UNNAMED
  --add-opens=java.security.jgss/sun.security.krb5=ALL-UNNAMED
  -Djdk.reflect.useDirectMethodHandle=false
)

sparklm_die() {
  echo "$SPARKLM_PROG: $*" >&2
  exit 2
}

# The java executable: $JAVA_HOME/bin/java, else java on PATH.
sparklm_java() {
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    echo "$JAVA_HOME/bin/java"
  elif command -v java >/dev/null 2>&1; then
    command -v java
  else
    sparklm_die "no java found: install Java 17 or set JAVA_HOME"
  fi
}

# The application jar (newest match if several versions were built), or "" when there is none.
sparklm_app_jar() {
  if [ -n "${SPARKLM_APP_JAR:-}" ]; then
    [ -f "$SPARKLM_APP_JAR" ] && echo "$SPARKLM_APP_JAR"
    return 0
  fi
  local f best=""
  for f in "$SPARKLM_HOME"/jobs/target/sparklm-jobs-*.jar; do
    [ -f "$f" ] || continue
    case ${f##*/} in *-sources.jar | *-javadoc.jar | *-tests.jar | *-shaded.jar) continue ;; esac
    if [ -z "$best" ] || [ "$f" -nt "$best" ]; then best=$f; fi
  done
  echo "$best"
}

# The application jar, or a one-line hint and exit 2.
sparklm_require_app_jar() {
  local jar
  jar=$(sparklm_app_jar)
  [ -n "$jar" ] || sparklm_die "no application jar (jobs/target/sparklm-jobs-*.jar): $SPARKLM_BUILD_HINT"
  echo "$jar"
}

# True when the bundled Spark runtime (deploy/spark-runtime/target/spark/jars) has been assembled.
sparklm_have_runtime() {
  local f
  for f in "$SPARKLM_RUNTIME"/jars/spark-core_*.jar; do
    [ -f "$f" ] && return 0
  done
  return 1
}

# The directory of Spark's jars for a plain JVM: the bundled runtime, else $SPARK_HOME/jars; or a hint and exit 2.
sparklm_require_spark_jars() {
  if sparklm_have_runtime; then
    echo "$SPARKLM_RUNTIME/jars"
  elif [ -n "${SPARK_HOME:-}" ] && [ -d "$SPARK_HOME/jars" ]; then
    echo "$SPARK_HOME/jars"
  else
    sparklm_die "no Spark runtime (deploy/spark-runtime/target/spark/jars): $SPARKLM_BUILD_HINT"
  fi
}

# A Spark memory size (4g, 512m, 2gb, 1024 = MiB) as a JVM -Xmx value (4g, 512m, 2g, 1024m).
sparklm_jvm_memory() {
  local v=$1
  case $v in
    *[0-9]) echo "${v}m" ;;
    *[kKmMgGtT]) echo "$v" ;;
    *[kKmMgGtT][bB]) echo "${v%?}" ;;
    *) sparklm_die "bad memory size '$v' (expected e.g. 4g or 512m)" ;;
  esac
}

# log4j2 configuration for the local JVM (Spark 3.5 logs through log4j2; the second name is the older spelling).
sparklm_log4j_opts() {
  local f=$SPARKLM_CONF_DIR/log4j2.properties
  [ -f "$f" ] || return 0
  echo "-Dlog4j2.configurationFile=$f"
  echo "-Dlog4j.configurationFile=$f"
}
