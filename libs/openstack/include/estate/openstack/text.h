// The OpenStack model's strings are estate::Text (estate/text.h, in common): the names used here.
#pragma once

#include "estate/text.h"

namespace estate::openstack {
using estate::Text;
using estate::TextPool;
}  // namespace estate::openstack
