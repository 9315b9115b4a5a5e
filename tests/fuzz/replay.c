/* replay.c -- runs a libFuzzer target over the files of a corpus
 * directory without libFuzzer, so `make test` replays every corpus under
 * ASan/UBSan. Usage: replay DIR... ; prints "ok FILE" per input (a crash
 * aborts the run, which the test runner reports). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) { printf("FAIL %s: cannot open\n", path); return 1; }
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) { cap *= 2; uint8_t *nb = realloc(buf, cap); if (!nb) { free(buf); buf = NULL; } else buf = nb; }
    }
    fclose(f);
    if (!buf) { printf("FAIL %s: out of memory\n", path); return 1; }
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

static int cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
    int failed = 0, total = 0;
    for (int i = 1; i < argc; i++) {
        DIR *d = opendir(argv[i]);
        if (!d) { printf("FAIL %s: no corpus directory\n", argv[i]); failed++; continue; }
        char **names = NULL; size_t nn = 0;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            char **nv = realloc(names, (nn + 1) * sizeof *names);
            if (!nv) break;
            names = nv;
            names[nn++] = strdup(e->d_name);
        }
        closedir(d);
        qsort(names, nn, sizeof *names, cmp);
        for (size_t k = 0; k < nn; k++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], names[k]);
            failed += run_file(path);
            total++;
            free(names[k]);
        }
        free(names);
    }
    if (total == 0) { printf("FAIL replay: empty corpus\n"); return 1; }
    printf("ok replay %d inputs of %s\n", total, argc > 1 ? argv[1] : "?");
    return failed ? 1 : 0;
}
