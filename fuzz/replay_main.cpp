// SPDX-License-Identifier: LGPL-3.0-or-later
// Standalone driver for fuzz targets: feeds every file under the given paths (files or folders)
// to LLVMFuzzerTestOneInput once, so ordinary builds replay the corpus as a test.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size);

static void run_file(const std::filesystem::path &path)
{
    std::ifstream in(path, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t *>(bytes.data()), bytes.size());
}

int main(int argc, char **argv)
{
    std::size_t count = 0;
    for (int i = 1; i < argc; i++)
    {
        std::filesystem::path root(argv[i]);
        if (std::filesystem::is_directory(root))
        {
            for (const auto &entry : std::filesystem::recursive_directory_iterator(root))
                if (entry.is_regular_file())
                {
                    run_file(entry.path());
                    count++;
                }
        }
        else
        {
            run_file(root);
            count++;
        }
    }
    std::printf("replayed %zu inputs\n", count);
    return count > 0 ? 0 : 1;
}
