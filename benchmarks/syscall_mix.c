/* Syscall patterns a server makes, N times each, printing nanoseconds per
 * iteration: null (getppid), read (1 byte of /dev/zero), openclose (open
 * and close one file), openreadclose (open, pread 1 byte, close). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 4)
        return 2;
    const char *mode = argv[1];
    long n = atol(argv[2]);
    const char *path = argv[3];
    int zero = open("/dev/zero", O_RDONLY);
    char buf[16];
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    if (!strcmp(mode, "null")) {
        for (long i = 0; i < n; i++)
            syscall(SYS_getppid);
    } else if (!strcmp(mode, "read")) {
        for (long i = 0; i < n; i++)
            if (read(zero, buf, 1) != 1)
                return 1;
    } else if (!strcmp(mode, "openclose")) {
        for (long i = 0; i < n; i++) {
            int fd = open(path, O_RDONLY);
            if (fd < 0)
                return 1;
            close(fd);
        }
    } else if (!strcmp(mode, "openreadclose")) {
        for (long i = 0; i < n; i++) {
            int fd = open(path, O_RDONLY);
            if (fd < 0 || pread(fd, buf, 1, 0) != 1)
                return 1;
            close(fd);
        }
    } else {
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%.2f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
    return 0;
}
