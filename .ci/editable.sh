# Sourced by .ci/run, .ci/grading.sh and .ci/colab_env.sh. An editable install writes
# rnncourse.egg-info into the clone: where environments are built side by side (CI),
# RNNCOURSE_EDITABLE_LOCK names a file on which every such step takes its turn.
editable() {
    if [[ -n "${RNNCOURSE_EDITABLE_LOCK:-}" ]]; then flock "$RNNCOURSE_EDITABLE_LOCK" "$@"; else "$@"; fi
}
